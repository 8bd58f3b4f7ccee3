// Homeserver discovery as a federating server does it (OpenID userinfo, X-Matrix key
// fetches, onbind): well-known delegation, SRV records, port 8448, the certificate checked
// against the server name (or the delegated name), caches of well-known answers and of
// signing keys, and the outbound policy over every address discovery produces. Real HTTPS
// homeservers with certificates for DNS names from a test CA; names from a test resolver.
import t from 'tap';
import { loadConfig } from '../../src/config.ts';
import { OutboundPolicy } from '../../src/http/outbound.ts';
import { cacheTtl } from '../../src/identity/discovery.ts';
import { Federation } from '../../src/identity/federation.ts';
import { startApp } from '../helpers/app.ts';
import { startNamedHomeserver, startTestCa, testResolver } from '../helpers/federation.ts';
import { identityClient } from '../helpers/identity.ts';

const WELL_KNOWN = '/.well-known/matrix/server';
const USERINFO = '/_matrix/federation/v1/openid/userinfo';
const KEYS = '/_matrix/key/v2/server';

const ca = await startTestCa();
const dns = testResolver(ca);
// Serves https://<name>/.well-known/matrix/server for every server name below (port 443 routed to it).
const frontNames = ['hs.example', 'hs2.example', 'srv.example', 'legacy.example', 'plain.example', 'wrong.example', 'private.example', 'private-ip.example', 'cached.example'];
const front = await startNamedHomeserver(t, ca, frontNames);
const delegated = await startNamedHomeserver(t, ca, ['delegated.example']);
const delegated2 = await startNamedHomeserver(t, ca, ['delegated2.example']);
const srvServed = await startNamedHomeserver(t, ca, ['srv.example', 'legacy.example']);
const plain = await startNamedHomeserver(t, ca, ['plain.example']);
const impostor = await startNamedHomeserver(t, ca, ['other.example']);
const internal = await startNamedHomeserver(t, ca, ['internal.example'], '127.0.0.2');

for (const name of frontNames) {
  dns.names.set(name, '127.0.0.1');
  dns.routes.set(`${name}:443`, { host: name, port: front.port });
}
for (const name of ['delegated.example', 'node7.hosting.example', 'target.hosting.example', 'other.example']) dns.names.set(name, '127.0.0.1');
dns.names.set('internal.example', '127.0.0.2');
dns.routes.set('plain.example:8448', { host: 'plain.example', port: plain.port });
const srvRecord = (name: string, port: number) => [{ name, port, priority: 10, weight: 5 }];
dns.srv.set('_matrix-fed._tcp.delegated2.example', srvRecord('node7.hosting.example', delegated2.port));
dns.srv.set('_matrix-fed._tcp.srv.example', srvRecord('target.hosting.example', srvServed.port));
dns.srv.set('_matrix._tcp.legacy.example', srvRecord('target.hosting.example', srvServed.port));
dns.srv.set('_matrix-fed._tcp.wrong.example', srvRecord('other.example', impostor.port));
front.state.wellKnown.set('hs.example', { status: 200, body: { 'm.server': `delegated.example:${delegated.port}` } });
front.state.wellKnown.set('hs2.example', { status: 200, body: { 'm.server': 'delegated2.example' } });
front.state.wellKnown.set('private.example', { status: 200, body: { 'm.server': `internal.example:${internal.port}` } });
front.state.wellKnown.set('private-ip.example', { status: 200, body: { 'm.server': `127.0.0.2:${internal.port}` } });

const defaults = loadConfig({});
const identity = { ...defaults.identity, serverName: 'id.test', federationAllowedServers: undefined, federationVerifyTls: true };
const app = await startApp(t, { identity, outboundIpAllowlist: ['127.0.0.0/8'] }, { outbound: dns.outbound });
// Only the well-known server's own address is allowlisted here.
const guarded = await startApp(t, { identity, outboundIpAllowlist: ['127.0.0.1/32'] }, { outbound: dns.outbound });

/** account/register: the identity server asks the homeserver `server` who holds the OpenID token. */
async function register(baseUrl: string, server: string, token: string) {
  return identityClient(baseUrl).POST('/v2/account/register', { body: { access_token: token, matrix_server_name: server } });
}

const lastRequest = (homeserver: typeof front) => homeserver.state.requests.at(-1);
const wellKnownFetches = (name: string) => front.state.requests.filter((request) => request.path === WELL_KNOWN && request.host === name).length;

t.test('well-known delegation to name:port: the delegated server answers, Host and certificate are the delegated name', async (t) => {
  delegated.state.openIdTokens.set('token-hs', '@alice:hs.example');
  const { response, data } = await register(app.baseUrl, 'hs.example', 'token-hs');
  t.equal(response.status, 200);
  t.ok(data?.access_token, 'an identity-server token for @alice:hs.example');
  t.equal(wellKnownFetches('hs.example'), 1, 'https://hs.example/.well-known/matrix/server was read');
  t.same(lastRequest(delegated), { host: `delegated.example:${delegated.port}`, path: USERINFO });
  t.notOk(dns.srvQueries.some((query) => query.endsWith('hs.example')), 'an explicit delegated port needs no SRV lookup');
});

t.test('well-known delegation to a name resolved by SRV: certificate for the delegated name, not the SRV target', async (t) => {
  delegated2.state.openIdTokens.set('token-hs2', '@alice:hs2.example');
  const { response } = await register(app.baseUrl, 'hs2.example', 'token-hs2');
  t.equal(response.status, 200);
  t.ok(dns.srvQueries.includes('_matrix-fed._tcp.delegated2.example'));
  t.same(lastRequest(delegated2), { host: 'delegated2.example', path: USERINFO }, 'served by node7.hosting.example, Host the delegated name');
});

t.test('SRV without well-known: the SRV target serves a certificate for the server name', async (t) => {
  srvServed.state.openIdTokens.set('token-srv', '@alice:srv.example');
  const { response } = await register(app.baseUrl, 'srv.example', 'token-srv');
  t.equal(response.status, 200);
  t.equal(wellKnownFetches('srv.example'), 1, 'the well-known was tried first (404)');
  t.same(lastRequest(srvServed), { host: 'srv.example', path: USERINFO });

  srvServed.state.openIdTokens.set('token-legacy', '@alice:legacy.example');
  const legacy = await register(app.baseUrl, 'legacy.example', 'token-legacy');
  t.equal(legacy.response.status, 200, 'the deprecated _matrix._tcp record still works');
  const queries = dns.srvQueries.filter((query) => query.endsWith('legacy.example'));
  t.same(queries, ['_matrix-fed._tcp.legacy.example', '_matrix._tcp.legacy.example'], '_matrix-fed first');
  t.same(lastRequest(srvServed), { host: 'legacy.example', path: USERINFO });
});

t.test('no well-known, no SRV: the server name on port 8448', async (t) => {
  plain.state.openIdTokens.set('token-plain', '@alice:plain.example');
  const { response } = await register(app.baseUrl, 'plain.example', 'token-plain');
  t.equal(response.status, 200);
  t.same(dns.srvQueries.filter((query) => query.endsWith('plain.example')), ['_matrix-fed._tcp.plain.example', '_matrix._tcp.plain.example']);
  t.ok(dns.attempts.includes('plain.example:8448'), 'connected to plain.example:8448');
  t.same(lastRequest(plain), { host: 'plain.example', path: USERINFO });
});

t.test('well-known answers are cached, failures too', async (t) => {
  await register(app.baseUrl, 'hs.example', 'token-hs');
  await register(app.baseUrl, 'hs2.example', 'token-hs2');
  t.equal(wellKnownFetches('hs.example'), 1, 'the delegation was not fetched again');
  t.equal(wellKnownFetches('hs2.example'), 1);

  // srv.example had no well-known: even now that it has one, the failure is remembered.
  front.state.wellKnown.set('srv.example', { status: 200, body: { 'm.server': `delegated.example:${delegated.port}` } });
  t.teardown(() => front.state.wellKnown.delete('srv.example'));
  const before = srvServed.count(USERINFO);
  const { response } = await register(app.baseUrl, 'srv.example', 'token-srv');
  t.equal(response.status, 200);
  t.equal(wellKnownFetches('srv.example'), 1, 'the failed well-known was not fetched again');
  t.equal(srvServed.count(USERINFO), before + 1, 'still reached through SRV');
});

t.test('well-known cache lifetimes: Cache-Control max-age within [5 min, 48 h], 24 h without, failures 10 min', async (t) => {
  let now = 0;
  const policy = new OutboundPolicy(['127.0.0.0/8'], dns.outbound);
  t.teardown(() => policy.close());
  const federation = new Federation(policy, true, undefined, () => now);
  const minute = 60_000;
  const hour = 60 * minute;
  const expectFetches = async (at: number, fetches: number, message: string) => {
    now = at;
    await federation.resolve('cached.example');
    t.equal(wellKnownFetches('cached.example'), fetches, message);
  };
  const delegation = { 'm.server': `delegated.example:${delegated.port}` };

  front.state.wellKnown.set('cached.example', { status: 200, body: delegation, headers: { 'cache-control': 'public, max-age=600' } });
  await expectFetches(0, 1, 'fetched');
  await expectFetches(9 * minute, 1, 'max-age=600: cached for 10 minutes');
  front.state.wellKnown.set('cached.example', { status: 200, body: delegation, headers: { 'cache-control': 'max-age=604800' } });
  await expectFetches(10 * minute + 1, 2, 'and fetched again after');
  await expectFetches(10 * minute + 47 * hour, 2, 'max-age of a week…');
  front.state.wellKnown.set('cached.example', { status: 200, body: delegation });
  await expectFetches(10 * minute + 48 * hour + 2, 3, '…is kept at most 48 hours');
  await expectFetches(10 * minute + 71 * hour, 3, 'no caching headers: 24 hours');
  front.state.wellKnown.delete('cached.example');
  const later = 10 * minute + 72 * hour + 3;
  await expectFetches(later, 4, 'fetched again after 24 hours (now a 404)');
  await expectFetches(later + 9 * minute, 4, 'the failure is cached');
  await expectFetches(later + 10 * minute + 1, 5, 'for 10 minutes');

  t.equal(cacheTtl({ 'cache-control': 'max-age=10' }), 5 * minute, 'at least 5 minutes');
  t.equal(cacheTtl({ 'cache-control': 'no-store' }), 5 * minute);
  const at = Date.UTC(2026, 0, 1);
  t.equal(cacheTtl({ expires: new Date(at + 2 * hour).toUTCString() }, at), 2 * hour, 'Expires without max-age');
});

t.test('a certificate for another name is refused, even from the host the SRV record names', async (t) => {
  impostor.state.openIdTokens.set('token-other', `@alice:other.example:${impostor.port}`);
  const refused = await register(app.baseUrl, 'wrong.example', 'token-other');
  t.equal(refused.response.status, 502);
  t.same(refused.error, { errcode: 'M_UNKNOWN', error: 'Could not reach the homeserver wrong.example' });
  t.ok(impostor.state.connections > 0, 'other.example was connected to');
  t.equal(impostor.state.requests.length, 0, 'but no request was sent over its TLS (certificate for other.example only)');

  // The same server is accepted for the name on its certificate.
  const accepted = await register(app.baseUrl, `other.example:${impostor.port}`, 'token-other');
  t.equal(accepted.response.status, 200);
  const requests = impostor.state.requests.length;
  const again = await register(app.baseUrl, 'wrong.example', 'token-other');
  t.equal(again.response.status, 502, 'and a kept-alive connection or TLS session for other.example does not carry over to wrong.example');
  t.equal(impostor.state.requests.length, requests);
});

t.test('X-Matrix: the homeserver key is fetched once and cached until its valid_until_ts', async (t) => {
  const api = identityClient(app.baseUrl);
  const unbind = (homeserver: typeof delegated, origin: string) => {
    const content = { mxid: `@alice:${origin}`, threepid: { medium: 'email', address: 'alice@example.test' } };
    return api.POST('/v2/3pid/unbind', {
      body: content,
      headers: { authorization: homeserver.authorization(origin, 'POST', '/_matrix/identity/v2/3pid/unbind', 'id.test', content) },
    });
  };
  delegated.state.keyServerName = 'hs.example';
  t.equal((await unbind(delegated, 'hs.example')).response.status, 200);
  t.equal((await unbind(delegated, 'hs.example')).response.status, 200);
  t.equal(delegated.count(KEYS), 1, 'one key request for two signed requests');

  // A homeserver whose published key has expired: it verifies nothing and is asked again each time.
  delegated2.state.keyServerName = 'hs2.example';
  delegated2.state.validUntil = Date.now() - 1000;
  const expired = await unbind(delegated2, 'hs2.example');
  t.equal(expired.response.status, 401);
  t.equal(expired.error?.errcode, 'M_FORBIDDEN');
  await unbind(delegated2, 'hs2.example');
  t.equal(delegated2.count(KEYS), 2, 'an expired key is not kept');
  delegated2.state.validUntil = Date.now() + 3600_000;
  t.equal((await unbind(delegated2, 'hs2.example')).response.status, 200, 'the renewed key is fetched');
  t.equal((await unbind(delegated2, 'hs2.example')).response.status, 200);
  t.equal(delegated2.count(KEYS), 3, 'and then cached');
});

t.test('signing keys expire from the cache at valid_until_ts, at the latest after 7 days', async (t) => {
  const start = Date.now();
  let now = start;
  const policy = new OutboundPolicy(['127.0.0.0/8'], dns.outbound);
  t.teardown(() => policy.close());
  const federation = new Federation(policy, true, undefined, () => now);
  const hour = 3600_000;
  const keysFetched = () => plain.count(KEYS);
  plain.state.keyServerName = 'plain.example';
  plain.state.validUntil = start + hour;
  const base = keysFetched();

  t.ok(await federation.serverKeys.key('plain.example', 'ed25519:test'), 'the key');
  now = start + hour - 1;
  t.ok(await federation.serverKeys.key('plain.example', 'ed25519:test'));
  t.equal(keysFetched(), base + 1, 'cached while valid');
  now = start + hour + 1;
  plain.state.validUntil = start + 365 * 24 * hour;
  t.ok(await federation.serverKeys.key('plain.example', 'ed25519:test'), 'refetched once expired');
  t.equal(keysFetched(), base + 2);
  now = start + hour + 1 + 7 * 24 * hour - 2;
  await federation.serverKeys.key('plain.example', 'ed25519:test');
  t.equal(keysFetched(), base + 2, 'a key valid for a year is cached…');
  now = start + hour + 1 + 7 * 24 * hour;
  await federation.serverKeys.key('plain.example', 'ed25519:test');
  t.equal(keysFetched(), base + 3, '…for 7 days');
  t.equal(await federation.serverKeys.key('plain.example', 'ed25519:other'), undefined, 'an unknown key id is no key');
});

t.test('discovery does not bypass the outbound policy: a delegation to a private address is refused', async (t) => {
  internal.state.openIdTokens.set('token-private', '@alice:private.example');
  for (const server of ['private.example', 'private-ip.example']) {
    const { response, error } = await register(guarded.baseUrl, server, 'token-private');
    t.equal(response.status, 502, server);
    t.same(error, { errcode: 'M_UNKNOWN', error: `Could not reach the homeserver ${server}` });
  }
  t.equal(internal.state.connections, 0, 'nothing connected to 127.0.0.2');
  t.equal(wellKnownFetches('private.example'), 1, 'although the allowlisted well-known was read');

  const allowlisted = await register(app.baseUrl, 'private.example', 'token-private');
  t.equal(allowlisted.response.status, 200, 'with 127.0.0.0/8 allowlisted the same delegation is followed');
});
