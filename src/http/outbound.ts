// The outbound policy: every request Parley makes to a destination a user chose (OpenID
// userinfo, onbind, homeserver key fetches, Web Push) connects through OutboundPolicy.agent.
// It refuses loopback, private, link-local (cloud metadata), CGNAT, multicast, unspecified
// and reserved addresses — Sydent's default ip.blacklist — unless OUTBOUND_IP_ALLOWLIST lists
// them. The check runs on the address the socket connects to: IP literals before any socket
// exists, names inside the socket's own DNS lookup, so a name that answers differently a
// moment later (DNS rebinding) cannot slip past it.
import dns, { type SrvRecord } from 'node:dns';
import { Agent, type AgentOptions, type RequestOptions } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import type { Duplex } from 'node:stream';

/** Sydent's DEFAULT_IP_RANGE_BLACKLIST (sydent/util/ip_range.py), plus 0.0.0.0/8 and 240.0.0.0/4 (reserved). */
const BLOCKED_IPV4: Array<[string, number]> = [
  ['0.0.0.0', 8], // "this network": 0.0.0.0 reaches the local host
  ['127.0.0.0', 8],
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['192.0.0.0', 24],
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['192.88.99.0', 24],
  ['198.18.0.0', 15],
  ['192.0.2.0', 24],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];
const BLOCKED_IPV6: Array<[string, number]> = [
  ['::', 128], // unspecified
  ['::1', 128],
  ['fe80::', 10],
  ['fc00::', 7],
  ['2001:db8::', 32],
  ['ff00::', 8],
  ['fec0::', 10],
];

function ipv4Hex(address: string): [string, string] {
  const [a, b, c, d] = address.split('.').map(Number);
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}

const blocked = new BlockList();
for (const [network, prefix] of BLOCKED_IPV4) {
  // BlockList matches IPv4-mapped forms (::ffff:10.0.0.1) itself; like Sydent, also block
  // the IPv4-compatible (::10.0.0.1) and 6to4 (2002:a00:1::) spellings of the same range.
  blocked.addSubnet(network, prefix, 'ipv4');
  const [high, low] = ipv4Hex(network);
  blocked.addSubnet(`::${high}:${low}`, 96 + prefix, 'ipv6');
  blocked.addSubnet(`2002:${high}:${low}::`, 16 + prefix, 'ipv6');
}
for (const [network, prefix] of BLOCKED_IPV6) blocked.addSubnet(network, prefix, 'ipv6');

export interface Cidr {
  network: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** `10.0.0.0/8`, `fd00::/8` or a bare address (a /32 or /128); throws on anything else. */
export function parseCidr(text: string): Cidr {
  const [network, prefixText, extra] = text.trim().split('/');
  const version = isIP(network);
  const family = version === 6 ? 'ipv6' : 'ipv4';
  const max = version === 6 ? 128 : 32;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (version === 0 || extra !== undefined || !(prefix >= 0 && prefix <= max)) throw new Error(`"${text.trim()}" is not an IP address or CIDR range`);
  return { network, prefix, family };
}

/** A comma-separated list of CIDR ranges (OUTBOUND_IP_ALLOWLIST); throws naming the bad entry. */
export function parseCidrList(value: string | undefined): string[] {
  const entries = (value ?? '').split(',').map((entry) => entry.trim()).filter(Boolean);
  for (const entry of entries) parseCidr(entry);
  return entries;
}

/** The policy refused the destination: no connection was opened. */
export class OutboundRefusedError extends Error {
  readonly code = 'ERR_OUTBOUND_REFUSED';

  constructor(
    readonly address: string,
    readonly hostname?: string,
  ) {
    super(`Outbound connection to ${address}${hostname && hostname !== address ? ` (${hostname})` : ''} refused by the outbound policy`);
  }
}

export interface OutboundOptions {
  /** Certificates to trust instead of the system's (tests' self-signed push services, their test CA). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Resolves host names (dns.lookup by default); tests inject names with it. */
  lookup?: LookupFunction;
  /** Resolves SRV records (Matrix server discovery; dns.promises.resolveSrv by default); tests inject records with it. */
  resolveSrv?: (name: string) => Promise<SrvRecord[]>;
  /** Tests only: where a connection to host:port really goes (local servers standing in for ports 443 and 8448); sees every attempt. */
  route?: (host: string, port: number) => { host: string; port: number } | undefined;
}

export class OutboundPolicy {
  private readonly allowed = new BlockList();
  readonly agent: Agent;
  readonly resolveSrv: (name: string) => Promise<SrvRecord[]>;

  constructor(allowlist: string[] = [], options: OutboundOptions = {}) {
    for (const entry of allowlist) {
      const { network, prefix, family } = parseCidr(entry);
      this.allowed.addSubnet(network, prefix, family);
    }
    this.resolveSrv = options.resolveSrv ?? ((name) => dns.promises.resolveSrv(name));
    this.agent = new PolicyAgent(this, options.lookup ?? (dns.lookup as LookupFunction), options.route, { keepAlive: true, ...(options.ca ? { ca: options.ca } : {}) });
  }

  /** Whether Parley may connect to this IP address: allowlisted, or outside every blocked range. */
  permits(address: string): boolean {
    const version = isIP(address);
    if (version === 0) return false;
    const family = version === 6 ? 'ipv6' : 'ipv4';
    try {
      return this.allowed.check(address, family) || !blocked.check(address, family);
    } catch {
      return false; // e.g. a zone index (fe80::1%eth0) BlockList cannot read
    }
  }

  close(): void {
    this.agent.destroy();
  }
}

/** An https.Agent whose every socket connects only where the policy permits. */
class PolicyAgent extends Agent {
  private readonly guardedLookup: LookupFunction;

  constructor(
    private readonly policy: OutboundPolicy,
    resolve: LookupFunction,
    private readonly route: OutboundOptions['route'],
    options: AgentOptions,
  ) {
    super(options);
    this.guardedLookup = (hostname, lookupOptions, callback) =>
      resolve(hostname, lookupOptions, (error, address, family) => {
        if (error) return callback(error, address, family);
        const addresses = typeof address === 'string' ? [address] : address.map((entry) => entry.address);
        const refused = addresses.find((candidate) => !policy.permits(candidate));
        if (refused !== undefined || addresses.length === 0) return callback(new OutboundRefusedError(refused ?? '(none)', hostname), '', family);
        callback(null, address, family);
      });
  }

  override createConnection(options: RequestOptions, callback?: (error: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const requested = String(options.host ?? options.hostname ?? 'localhost').replace(/^\[(.*)\]$/, '$1');
    const { host, port } = this.route?.(requested, Number(options.port)) ?? { host: requested, port: options.port };
    // An IP literal never reaches the lookup: check it here, before any socket exists.
    const refusal = options.socketPath
      ? new OutboundRefusedError(options.socketPath)
      : isIP(host) !== 0 && !this.policy.permits(host)
        ? new OutboundRefusedError(host)
        : undefined;
    if (refusal) {
      if (!callback) throw refusal;
      process.nextTick(() => callback(refusal, undefined as never));
      return undefined;
    }
    return super.createConnection({ ...options, host, port, lookup: this.guardedLookup }, callback);
  }
}
