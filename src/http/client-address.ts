// One spelling per client address. A dual-stack listener sees an IPv4 client as
// ::ffff:a.b.c.d and IPv6 has many spellings of one address; per-address limits and the
// loopback test must not be fooled by either.
import net from 'node:net';

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** Loopback in any spelling: 127/8, ::1, and the unspecified addresses (Linux routes them to this host). */
const LOOPBACK = new net.BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('0.0.0.0', 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addAddress('::', 'ipv6');

/** `::ffff:127.0.0.1`, `[::1]`, `0:0:0:0:0:0:0:1` → `127.0.0.1`, `::1`, `::1`; anything not an IP address is returned as it is. */
export function canonicalAddress(address: string): string {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const family = net.isIPv4(bare) ? 'ipv4' : net.isIPv6(bare) ? 'ipv6' : undefined;
  if (!family) return address;
  const normalized = new net.SocketAddress({ address: bare, family }).address;
  return IPV4_MAPPED.exec(normalized)?.[1] ?? normalized;
}

export function isLoopbackAddress(address: string): boolean {
  const canonical = canonicalAddress(address);
  const family = net.isIPv4(canonical) ? 'ipv4' : net.isIPv6(canonical) ? 'ipv6' : undefined;
  return family !== undefined && LOOPBACK.check(canonical, family);
}
