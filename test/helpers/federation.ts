// Homeservers as they are deployed, on this machine: a test CA, HTTPS servers whose
// certificates carry DNS names (hs.example, delegated.example …), and a test resolver for
// the outbound policy (names → addresses, SRV records, and a route for the well-known ports
// 443 and 8448 to local servers on ephemeral ports). No real DNS.
import type { SrvRecord } from 'node:dns';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, LookupFunction } from 'node:net';
import { generate } from 'selfsigned';
import type { OutboundOptions } from '../../src/http/outbound.ts';
import { decodeBase64, newEphemeralKeyPair, signingKeyFromSeed, signJson } from '../../src/identity/signing.ts';
import type { TestContext } from './app.ts';

export interface TestCa {
  cert: string;
  key: string;
}

export async function startTestCa(): Promise<TestCa> {
  const pems = await generate([{ name: 'commonName', value: 'Parley test CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A certificate for these DNS names, signed by the test CA. */
export async function certificateFor(ca: TestCa, names: string[]) {
  const pems = await generate([{ name: 'commonName', value: names[0] }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: names.map((value) => ({ type: 2 as const, value })) },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * An HTTPS homeserver with a certificate for `names`: per-Host well-known answers, OpenID
 * userinfo (`openIdTokens` token → user), its signing key at /_matrix/key/v2/server as
 * `keyServerName` with `validUntil`; it records every request (Host header, path) and counts
 * TCP connections.
 */
export async function startNamedHomeserver(t: TestContext, ca: TestCa, names: string[], host = '127.0.0.1') {
  const { key, cert } = await certificateFor(ca, names);
  const keyPair = newEphemeralKeyPair();
  const signingKey = signingKeyFromSeed(decodeBase64(keyPair.privateSeed), 'ed25519:test');
  const state = {
    wellKnown: new Map<string, Reply>(),
    openIdTokens: new Map<string, string>(),
    keyServerName: names[0],
    validUntil: Date.now() + 3600_000,
    requests: [] as Array<{ host: string; path: string }>,
    connections: 0,
  };
  const server: Server = createServer({ key, cert }, (request, response) => {
    const url = new URL(request.url ?? '/', 'https://localhost');
    const hostHeader = request.headers.host ?? '';
    state.requests.push({ host: hostHeader, path: url.pathname });
    const send = ({ status, body, headers }: Reply) => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(body === undefined ? '' : JSON.stringify(body));
    };
    request.resume();
    request.on('end', () => {
      if (url.pathname === '/.well-known/matrix/server') return send(state.wellKnown.get(hostHeader) ?? { status: 404, body: { errcode: 'M_NOT_FOUND', error: 'none' } });
      if (url.pathname === '/_matrix/federation/v1/openid/userinfo') {
        const user = state.openIdTokens.get(url.searchParams.get('access_token') ?? '');
        return send(user ? { status: 200, body: { sub: user } } : { status: 401, body: { errcode: 'M_UNKNOWN_TOKEN', error: 'Unknown token' } });
      }
      if (url.pathname === '/_matrix/key/v2/server') {
        return send({ status: 200, body: { server_name: state.keyServerName, verify_keys: { [signingKey.keyId]: { key: signingKey.publicKey } }, valid_until_ts: state.validUntil } });
      }
      send({ status: 404, body: { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' } });
    });
  });
  server.on('connection', () => (state.connections += 1));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    state,
    port: (server.address() as AddressInfo).port,
    /** Requests to this path so far. */
    count: (path: string) => state.requests.filter((request) => request.path === path).length,
    /** The X-Matrix Authorization header of a request `origin` (this server's key) sends to the identity server. */
    authorization(origin: string, method: string, uri: string, destination: string, content: unknown): string {
      const signed = signJson({ method, uri, origin, destination_is: destination, content }, origin, signingKey);
      return `X-Matrix origin=${origin},key="${signingKey.keyId}",sig="${signed.signatures[origin][signingKey.keyId]}"`;
    },
  };
}

/**
 * The DNS of the test: `names` (A records), `srv` (SRV records by query name), `routes`
 * (`host:port` → where that connection really goes); it records every query and connection attempt.
 */
export function testResolver(ca: TestCa) {
  const names = new Map<string, string>();
  const srv = new Map<string, SrvRecord[]>();
  const routes = new Map<string, { host: string; port: number }>();
  const srvQueries: string[] = [];
  const attempts: string[] = [];
  const lookup = ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    const address = names.get(hostname.toLowerCase());
    if (!address) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
    return options.all ? callback(null, [{ address, family: 4 }]) : callback(null, address, 4);
  }) as unknown as LookupFunction;
  const outbound: OutboundOptions = {
    ca: ca.cert,
    lookup,
    resolveSrv: async (name) => {
      srvQueries.push(name);
      const records = srv.get(name.toLowerCase());
      if (!records) throw Object.assign(new Error(`querySrv ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
      return records;
    },
    route: (host, port) => {
      attempts.push(`${host}:${port}`);
      return routes.get(`${host}:${port}`);
    },
  };
  return { names, srv, routes, srvQueries, attempts, outbound };
}
