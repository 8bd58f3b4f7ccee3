// Where a Matrix server name's federation API listens, as the server-server spec resolves it
// (https://spec.matrix.org/latest/server-server-api/#resolving-server-names, like Synapse's
// matrix_federation_agent + well_known_resolver): IP literal or explicit port → direct;
// else /.well-known/matrix/server delegation (cached); else SRV _matrix-fed._tcp, then the
// deprecated _matrix._tcp; else port 8448. The result names the certificate to expect: the
// server name (or the delegated name), never the SRV target or the address connected to.
import type { SrvRecord } from 'node:dns';
import { isIP } from 'node:net';
import { LRUCache } from 'lru-cache';

const FEDERATION_PORT = 8448;
const HOUR_MS = 3600_000;
/** Spec: "a sensible default" (24 h) without caching headers, at most 48 h; Synapse's floor of 5 minutes. */
const WELL_KNOWN_DEFAULT_TTL_MS = 24 * HOUR_MS;
const WELL_KNOWN_MAX_TTL_MS = 48 * HOUR_MS;
const WELL_KNOWN_MIN_TTL_MS = 5 * 60_000;
/** No (valid) delegation is remembered this long, so a broken well-known costs one request per 10 minutes. */
const WELL_KNOWN_FAILURE_TTL_MS = 10 * 60_000;
const WELL_KNOWN_MAX_REDIRECTS = 5;
const WELL_KNOWN_PATH = '/.well-known/matrix/server';

/** host, [v6], host:port, [v6]:port; the host a hostname or an IP literal (Matrix server name grammar). */
export function parseServerName(name: string): { host: string; port?: number } | undefined {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z.-]+)(?::(\d{1,5}))?$/.exec(name);
  if (!match) return undefined;
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  const host = match[1];
  if (host.startsWith('[') && isIP(host.slice(1, -1)) !== 6) return undefined;
  if (!host.startsWith('[') && /^[0-9.]+$/.test(host) && isIP(host) !== 4) return undefined;
  if (host.length > 255) return undefined;
  return { host, port };
}

const unbracket = (host: string) => host.replace(/^\[(.*)\]$/, '$1');

/** One HTTPS destination: where to connect, what to send as Host, which name the certificate must carry. */
export interface FederationTarget {
  /** Connected to in order until one answers (SRV targets by priority and weight; else one). */
  addresses: Array<{ host: string; port: number }>;
  /** The Host header. */
  hostHeader: string;
  /** The name (or IP) the TLS certificate must be valid for; also the SNI unless it is an IP. */
  tlsName: string;
}

/** A GET over HTTPS to a target, answering status, headers and the parsed JSON body (what the well-known fetch needs). */
export type HttpsGet = (target: FederationTarget, path: string) => Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: unknown }>;

export class DiscoveryError extends Error {}

interface WellKnownEntry {
  /** The `m.server` value, or null: no valid delegation. */
  delegated: string | null;
  expiresAt: number;
}

export class ServerDiscovery {
  private readonly wellKnown = new LRUCache<string, WellKnownEntry>({ max: 10_000 });
  private readonly wellKnownFetches = new Map<string, Promise<WellKnownEntry>>();

  constructor(
    private readonly get: HttpsGet,
    private readonly resolveSrv: (name: string) => Promise<SrvRecord[]>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The spec's steps 1–6 for a server name. */
  async resolve(serverName: string): Promise<FederationTarget> {
    const parsed = parseServerName(serverName);
    if (!parsed) throw new DiscoveryError(`Invalid server name ${serverName}`);
    const direct = this.direct(serverName, parsed);
    if (direct) return direct;

    const delegated = await this.delegation(parsed.host);
    if (delegated !== null) {
      const target = parseServerName(delegated)!;
      return this.direct(delegated, target) ?? (await this.viaSrv(target.host));
    }
    return this.viaSrv(parsed.host);
  }

  /** Steps 1–2 (and 3.1–3.2 for a delegated name): an IP literal or an explicit port needs no lookup. */
  private direct(name: string, parsed: { host: string; port?: number }): FederationTarget | undefined {
    const ip = isIP(unbracket(parsed.host)) !== 0;
    if (!ip && parsed.port === undefined) return undefined;
    return { addresses: [{ host: unbracket(parsed.host), port: parsed.port ?? FEDERATION_PORT }], hostHeader: name, tlsName: unbracket(parsed.host) };
  }

  /** Steps 3.3–3.5 and 4–6: SRV _matrix-fed._tcp, then _matrix._tcp, else port 8448; the certificate is the name's own. */
  private async viaSrv(hostname: string): Promise<FederationTarget> {
    for (const service of ['_matrix-fed._tcp', '_matrix._tcp']) {
      const records = await this.resolveSrv(`${service}.${hostname}`).catch(() => [] as SrvRecord[]);
      if (records.length === 0) continue;
      // RFC 2782: a lone target "." means the service is decidedly not available there.
      if (records.every((record) => record.name === '' || record.name === '.')) throw new DiscoveryError(`${hostname} has no federation service (SRV ${service} is ".")`);
      const addresses = srvOrder(records).map((record) => ({ host: record.name.replace(/\.$/, ''), port: record.port }));
      return { addresses, hostHeader: hostname, tlsName: hostname };
    }
    return { addresses: [{ host: hostname, port: FEDERATION_PORT }], hostHeader: hostname, tlsName: hostname };
  }

  /** Step 3: the delegated server name from https://<hostname>/.well-known/matrix/server, cached; null without one. */
  private async delegation(hostname: string): Promise<string | null> {
    const key = hostname.toLowerCase();
    const cached = this.wellKnown.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.delegated;
    let fetching = this.wellKnownFetches.get(key);
    if (!fetching) {
      fetching = this.fetchWellKnown(key).finally(() => this.wellKnownFetches.delete(key));
      this.wellKnownFetches.set(key, fetching);
    }
    return (await fetching).delegated;
  }

  private async fetchWellKnown(hostname: string): Promise<WellKnownEntry> {
    let entry: WellKnownEntry;
    try {
      entry = await this.requestWellKnown(hostname);
    } catch {
      entry = { delegated: null, expiresAt: this.now() + WELL_KNOWN_FAILURE_TTL_MS };
    }
    this.wellKnown.set(hostname, entry);
    return entry;
  }

  /** GET with redirects followed (https only, no loops); anything but a 200 naming a valid server name is a failure. */
  private async requestWellKnown(hostname: string): Promise<WellKnownEntry> {
    let url = new URL(`https://${hostname}${WELL_KNOWN_PATH}`);
    const visited = new Set<string>();
    for (let hop = 0; hop <= WELL_KNOWN_MAX_REDIRECTS; hop += 1) {
      visited.add(url.href);
      const host = unbracket(url.hostname);
      const response = await this.get({ addresses: [{ host, port: Number(url.port || 443) }], hostHeader: url.host, tlsName: host }, url.pathname + url.search);
      const location = response.headers.location;
      if (response.status >= 300 && response.status < 400 && typeof location === 'string') {
        url = new URL(location, url);
        if (url.protocol !== 'https:' || visited.has(url.href)) throw new DiscoveryError('well-known redirect loop or not https');
        continue;
      }
      const delegated = (response.body as { 'm.server'?: unknown } | undefined)?.['m.server'];
      if (response.status !== 200 || typeof delegated !== 'string' || !parseServerName(delegated)) throw new DiscoveryError('no valid well-known');
      return { delegated, expiresAt: this.now() + cacheTtl(response.headers, this.now()) };
    }
    throw new DiscoveryError('too many well-known redirects');
  }
}

/** How long a well-known answer is kept: Cache-Control max-age (no-store: the floor), else Expires, else 24 h; within [5 min, 48 h]. */
export function cacheTtl(headers: Record<string, string | string[] | undefined>, now = Date.now()): number {
  const cacheControl = [headers['cache-control'] ?? []].flat().join(',').toLowerCase();
  const directives = new Map(cacheControl.split(',').map((directive): [string, string] => {
    const [name, value = ''] = directive.trim().split('=', 2);
    return [name, value.replace(/^"(.*)"$/, '$1')];
  }));
  const maxAge = directives.get('max-age') ?? '';
  let ttl: number | undefined;
  if (directives.has('no-store')) ttl = 0;
  else if (/^\d+$/.test(maxAge)) ttl = Number(maxAge) * 1000;
  else if (typeof headers.expires === 'string') ttl = (Date.parse(headers.expires) || 0) - now;
  if (ttl === undefined) return WELL_KNOWN_DEFAULT_TTL_MS;
  return Math.min(WELL_KNOWN_MAX_TTL_MS, Math.max(WELL_KNOWN_MIN_TTL_MS, ttl));
}

/** RFC 2782 order: lowest priority first, within one priority a weighted random draw (as Synapse's srv_resolver). */
function srvOrder(records: SrvRecord[]): SrvRecord[] {
  const ordered: SrvRecord[] = [];
  const priorities = [...new Set(records.map((record) => record.priority))].sort((a, b) => a - b);
  for (const priority of priorities) {
    const group = records.filter((record) => record.priority === priority && record.name !== '' && record.name !== '.');
    while (group.length > 0) {
      const total = group.reduce((sum, record) => sum + record.weight, 0);
      let draw = total > 0 ? 1 + Math.floor(Math.random() * total) : 0;
      const index = total > 0 ? group.findIndex((record) => (draw -= record.weight) <= 0) : Math.floor(Math.random() * group.length);
      ordered.push(...group.splice(index, 1));
    }
  }
  return ordered;
}
