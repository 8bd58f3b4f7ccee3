// No SSRF: requests whose destination a user chooses (OpenID userinfo on account/register,
// X-Matrix key fetches, onbind, Web Push endpoints) never connect to loopback, private,
// link-local or other internal addresses, however the address is spelled, unless
// OUTBOUND_IP_ALLOWLIST lists it. A listening server on this machine counts every
// connection that reaches it; without the allowlist it must count none.
import { createECDH, randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import type { LookupFunction } from 'node:net';
import t from 'tap';
import { loadConfig } from '../../src/config.ts';
import { OutboundPolicy } from '../../src/http/outbound.ts';
import type { RealtimeHub } from '../../src/realtime/hub.ts';
import { startApp } from '../helpers/app.ts';
import { identityClient, plainText, startMailCatcher } from '../helpers/identity.ts';
import { registerUser } from '../helpers/messenger.ts';
import { loginDevice } from '../helpers/realtime.ts';

// Stands in for whatever listens on the server's own machine (an admin port, a database, a
// metadata service): on every loopback spelling at once (dual-stack ::).
const sockets = new Set<Socket>();
let connections = 0;
const internal = createServer((socket) => {
  connections += 1;
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  socket.on('error', () => {});
  socket.end();
});
await new Promise<void>((resolve) => internal.listen({ port: 0, host: '::', ipv6Only: false }, resolve));
t.teardown(() => {
  sockets.forEach((socket) => socket.destroy());
  return new Promise((resolve) => internal.close(resolve));
});
const port = (internal.address() as { port: number }).port;

/** A resolver for test names: `rebind.test` answers 127.0.0.1, `gone.test` does not exist. */
const lookup = ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
  if (hostname !== 'rebind.test') return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
  return options.all ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(null, '127.0.0.1', 4);
}) as unknown as LookupFunction;

const mail = await startMailCatcher(t);
const defaults = loadConfig({});
const identity = { ...defaults.identity, serverName: 'id.test', federationAllowedServers: undefined, federationVerifyTls: false };
// The server as deployed: no allowlist.
const guarded = await startApp(t, { identity, mail: { ...defaults.mail, smtpUrl: mail.url } }, { outbound: { lookup } });
// The same server with loopback allowlisted: shows the requests below would connect without the policy.
const allowlisted = await startApp(t, { identity, outboundIpAllowlist: ['127.0.0.0/8', '::1/128'] }, { outbound: { lookup } });
const api = identityClient(guarded.baseUrl);

const LOOPBACK_SPELLINGS = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `0.0.0.0:${port}`, `[::ffff:127.0.0.1]:${port}`, `[::ffff:7f00:1]:${port}`, `rebind.test:${port}`];

async function register(baseUrl: string, server: string) {
  return identityClient(baseUrl).POST('/v2/account/register', { body: { access_token: 'openid-token', matrix_server_name: server } });
}

t.test('without the policy these requests would reach the internal server', async (t) => {
  const before = connections;
  await register(allowlisted.baseUrl, `127.0.0.1:${port}`);
  await register(allowlisted.baseUrl, `rebind.test:${port}`);
  t.equal(connections, before + 2, 'an allowlisted address is connected to');
});

t.test('account/register: a homeserver on an internal address is refused as if unreachable, never connected to', async (t) => {
  const unreachable = await register(guarded.baseUrl, `gone.test:${port}`);
  t.equal(unreachable.response.status, 502, 'what an unreachable homeserver answers');
  t.equal(unreachable.error?.errcode, 'M_UNKNOWN');
  const before = connections;
  for (const server of LOOPBACK_SPELLINGS) {
    const refused = await register(guarded.baseUrl, server);
    t.equal(refused.response.status, unreachable.response.status, `${server}: same status`);
    t.same(refused.error, { errcode: 'M_UNKNOWN', error: `Could not reach the homeserver ${server}` }, `${server}: same error`);
  }
  t.equal(connections, before, 'no connection reached the internal server');
});

t.test('X-Matrix: the origin key is not fetched from an internal address', async (t) => {
  const before = connections;
  for (const origin of LOOPBACK_SPELLINGS) {
    const { response, error } = await api.POST('/v2/3pid/unbind', {
      body: { mxid: `@someone:${origin}`, threepid: { medium: 'email', address: 'someone@example.test' } },
      headers: { authorization: `X-Matrix origin=${origin},key="ed25519:hs",sig="c2lnbmF0dXJl"` },
    });
    t.equal(response.status, 401, origin);
    t.same(error, { errcode: 'M_FORBIDDEN', error: `No key ed25519:hs of ${origin}` });
  }
  t.equal(connections, before, 'no key request reached the internal server');
});

t.test('Web Push: a subscription endpoint on an internal address is never contacted', async (t) => {
  const endpoints = [`https://127.0.0.1:${port}/push/a`, `https://localhost:${port}/push/b`, `https://[::1]:${port}/push/c`, `https://[::ffff:127.0.0.1]:${port}/push/d`, `https://0.0.0.0:${port}/push/e`, `https://rebind.test:${port}/push/f`];
  const browser = createECDH('prime256v1');
  browser.generateKeys();
  const keys = { p256dh: browser.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') };
  const publish = async (app: typeof guarded) => {
    const user = await registerUser(app.baseUrl);
    for (const endpoint of endpoints) await loginDevice(app.baseUrl, user, { transport: 'web', token: JSON.stringify({ endpoint, keys }) });
    await app.app.kernel.realtime.publish({ userIds: [user.id], event: { event: 'message', source: 'system', payload: { text: 'hi' } }, push: true });
    await (app.app.kernel.realtime as RealtimeHub).drain();
  };
  const before = connections;
  await publish(allowlisted);
  t.ok(connections > before, 'allowlisted, the pushes connect');
  const after = connections;
  await publish(guarded);
  t.equal(connections, after, 'without the allowlist, no push connected');
});

t.test('bind: onbind is not delivered to a homeserver on an internal address', async (t) => {
  const before = connections;
  for (const [i, server] of [`127.0.0.1:${port}`, `[::1]:${port}`, `localhost:${port}`].entries()) {
    const email = `bound${i}@example.test`;
    const since = mail.received.length;
    const requested = await api.POST('/api/v1/validate/email/requestToken', { body: { client_secret: 'ssrf_secret', email, send_attempt: 1 } });
    const token = /token=([A-Za-z0-9]+)/.exec(plainText(await mail.next(email, since)))![1];
    await api.POST('/api/v1/validate/email/submitToken', { body: { sid: requested.data!.sid, client_secret: 'ssrf_secret', token } });
    const bound = await api.POST('/api/v1/bind', { body: { sid: requested.data!.sid, client_secret: 'ssrf_secret', mxid: `@someone:${server}` } });
    t.equal(bound.response.status, 200, 'the binding itself is published');
  }
  // Closing waits for the background onbind deliveries to finish.
  await guarded.app.close();
  t.equal(connections, before, 'no onbind reached the internal server');
});

t.test('the blocked ranges: Sydent ip.blacklist, in every spelling; the allowlist overrides', async (t) => {
  const policy = new OutboundPolicy();
  t.teardown(() => policy.close());
  const blocked = [
    '127.0.0.1', '127.255.255.254', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.1.1', '100.64.0.1', '169.254.169.254', '192.0.0.8',
    '192.0.2.1', '198.18.0.1', '198.51.100.7', '203.0.113.9', '192.88.99.1', '224.0.0.1', '239.255.255.250', '0.0.0.0', '0.1.2.3', '240.0.0.1', '255.255.255.255',
    '::', '::1', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', 'fec0::1', '2001:db8::1',
    '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:a9fe:a9fe', '::ffff:0.0.0.0', '::127.0.0.1', '::10.0.0.1', '2002:a00:1::', '2002:7f00:1::1', '0:0:0:0:0:0:0:1',
  ];
  for (const address of blocked) t.notOk(policy.permits(address), `${address} is refused`);
  for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8', '172.32.0.1', '100.128.0.1']) t.ok(policy.permits(address), `${address} is allowed`);
  for (const name of ['localhost', 'example.test', '']) t.notOk(policy.permits(name), `a name (${name || 'empty'}) is never an address to permit`);

  const allowing = new OutboundPolicy(['10.0.0.0/8', 'fd00::/8', '192.168.7.7']);
  t.teardown(() => allowing.close());
  t.ok(allowing.permits('10.1.2.3'), 'an allowlisted range');
  t.ok(allowing.permits('::ffff:10.1.2.3'), 'and its IPv4-mapped spelling');
  t.ok(allowing.permits('fd00::5'));
  t.ok(allowing.permits('192.168.7.7'), 'a bare address is a /32');
  t.notOk(allowing.permits('192.168.7.8'));
  t.notOk(allowing.permits('127.0.0.1'), 'what is not listed stays refused');
});

t.test('OUTBOUND_IP_ALLOWLIST is parsed at start-up; a bad entry stops it', async (t) => {
  t.same(loadConfig({ OUTBOUND_IP_ALLOWLIST: ' 10.0.0.0/8, fd00::/8 ,192.168.1.5' }).outboundIpAllowlist, ['10.0.0.0/8', 'fd00::/8', '192.168.1.5']);
  t.same(loadConfig({}).outboundIpAllowlist, [], 'none by default');
  for (const bad of ['10.0.0.0/33', 'intranet.example', '10.0.0.0/8/1', '::1/129', '10.0.0/8', '10.0.0.0/x']) {
    t.throws(() => loadConfig({ OUTBOUND_IP_ALLOWLIST: bad }), /OUTBOUND_IP_ALLOWLIST/, `"${bad}" is refused`);
  }
});
