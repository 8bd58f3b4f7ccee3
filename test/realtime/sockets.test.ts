// The WebSocket endpoint: who may connect, what each socket receives, and revocation.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { loadConfig } from '../../src/config.ts';
import { startApp } from '../helpers/app.ts';
import { basicAuth, messengerClient, registerUser } from '../helpers/messenger.ts';
import { loginDevice, socketOpener } from '../helpers/realtime.ts';

// The fan-out test holds 300 sockets of one session from one address: above the default
// limits, which test/reliability/websocket-limits.test.ts and http-limits.test.ts cover.
const { app, baseUrl } = await startApp(t, {
  realtimePingIntervalMs: 300,
  webSocketLimits: { perSession: 1_000, perUser: 1_000 },
  http: { ...loadConfig({}).http, maxConnectionsPerIp: 0 },
});
const open = socketOpener(t);
const publish = (userIds: number[], event: string, payload: unknown = { n: 1 }, source = 'system') =>
  app.kernel.realtime.publish({ userIds, event: { event, source, payload } });

t.test('a session token opens its socket, by Bearer header or ?token=', async (t) => {
  const user = await registerUser(baseUrl);
  const bearer = await open(baseUrl, user.sessionId, user.token, 'bearer');
  const query = await open(baseUrl, user.sessionId, user.token, 'query');
  await publish([user.id], 'hello', { text: 'Hey' }, String(user.id));
  for (const [name, probe] of [['bearer', bearer], ['query', query]] as const) {
    const frame = await probe.event('hello');
    t.same(frame, { event: 'hello', source: String(user.id), payload: { text: 'Hey' } }, `${name}: {event, source, payload}`);
    t.same(probe.malformed, [], `${name}: every frame is binary JSON`);
    t.notOk(probe.closed, `${name}: still open`);
  }
});

t.test('the server pings open sockets', async (t) => {
  const user = await registerUser(baseUrl);
  const probe = await open(baseUrl, user.sessionId, user.token);
  await probe.until(() => probe.pings >= 2, 'two pings', 3_000);
  t.notOk(probe.closed, 'a client that answers pings stays connected');
});

t.test('a token that is not this session’s is closed with 1008 and receives nothing', async (t) => {
  const alice = await registerUser(baseUrl);
  const bob = await registerUser(baseUrl);
  const cases: Array<[string, string, string | undefined, 'bearer' | 'query']> = [
    ['no token', alice.sessionId, undefined, 'bearer'],
    ['unknown token', alice.sessionId, 'x'.repeat(43), 'bearer'],
    ['another session’s token (header)', alice.sessionId, bob.token, 'bearer'],
    ['another session’s token (query)', alice.sessionId, bob.token, 'query'],
    ['an unknown session id', randomUUID(), alice.token, 'bearer'],
    ['a malformed session id', 'not-a-uuid', alice.token, 'query'],
  ];
  const refused = await Promise.all(cases.map(([, sessionId, token, how]) => open(baseUrl, sessionId, token, how)));
  // Published while the refused sockets were (briefly) open: they must not see it.
  await publish([alice.id, bob.id], 'secret');
  const control = await open(baseUrl, alice.sessionId, alice.token);
  await publish([alice.id, bob.id], 'secret');
  await control.event('secret');
  for (const [index, [what]] of cases.entries()) {
    const closed = await refused[index].waitClosed();
    t.equal(closed.code, 1008, `${what}: policy violation`);
    t.same(refused[index].frames, [], `${what}: nothing delivered`);
  }
});

t.test('an event reaches every socket of every recipient, the sender’s other devices, and nobody else', async (t) => {
  const author = await registerUser(baseUrl);
  const reader = await registerUser(baseUrl);
  const outsider = await registerUser(baseUrl);
  const authorPhone = await loginDevice(baseUrl, author);
  const readerPhone = await loginDevice(baseUrl, reader);
  const sockets = {
    authorLaptop: await open(baseUrl, author.sessionId, author.token),
    authorPhone: await open(baseUrl, authorPhone.sessionId, authorPhone.token, 'query'),
    authorPhoneAgain: await open(baseUrl, authorPhone.sessionId, authorPhone.token),
    readerLaptop: await open(baseUrl, reader.sessionId, reader.token),
    readerPhone: await open(baseUrl, readerPhone.sessionId, readerPhone.token),
    outsider: await open(baseUrl, outsider.sessionId, outsider.token),
  };
  await publish([author.id, reader.id, author.id], 'message', { text: 'to the chat' }, String(author.id));
  // A later event to everyone: when it arrives, anything earlier has arrived too.
  await publish([author.id, reader.id, outsider.id], 'marker');
  for (const [name, probe] of Object.entries(sockets)) {
    await probe.event('marker');
    t.equal(probe.count('message'), name === 'outsider' ? 0 : 1, `${name}: ${name === 'outsider' ? 'nothing' : 'exactly one message event'}`);
  }
  t.same(sockets.readerPhone.frames[0], { event: 'message', source: String(author.id), payload: { text: 'to the chat' } });
});

t.test('events reach a socket in the order they were published', async (t) => {
  const user = await registerUser(baseUrl);
  const probe = await open(baseUrl, user.sessionId, user.token);
  for (let n = 0; n < 30; n += 1) await publish([user.id], 'seq', { n, big: n % 3 === 0 ? 'x'.repeat(9_000) : undefined });
  await probe.until(() => probe.count('seq') === 30, '30 events');
  t.same(
    probe.frames.map((frame) => (frame.payload as { n: number }).n),
    Array.from({ length: 30 }, (_, n) => n),
    'small and stored (big) events keep their order',
  );
});

t.test('a payload above NOTIFY’s 8000 bytes arrives whole', async (t) => {
  const user = await registerUser(baseUrl);
  const probe = await open(baseUrl, user.sessionId, user.token);
  const text = 'ü'.repeat(30_000); // 60 000 bytes of UTF-8
  await publish([user.id], 'message', { text });
  const frame = await probe.event('message');
  t.equal((frame.payload as { text: string }).text, text);
});

t.test('a null or missing payload is sent as null', async (t) => {
  const user = await registerUser(baseUrl);
  const probe = await open(baseUrl, user.sessionId, user.token);
  await app.kernel.realtime.publish({ userIds: [user.id], event: { event: 'chatCleared', source: '7', payload: null } });
  t.same(await probe.event('chatCleared'), { event: 'chatCleared', source: '7', payload: null });
});

t.test('a fan-out to many sockets delivers to all of them', async (t) => {
  const user = await registerUser(baseUrl);
  const many = await Promise.all(Array.from({ length: 300 }, () => open(baseUrl, user.sessionId, user.token)));
  await publish([user.id], 'wide', { text: 'everyone' });
  await Promise.all(many.map((probe) => probe.event('wide', 10_000)));
  t.ok(many.every((probe) => probe.count('wide') === 1), '300 sockets, one frame each');
  many.forEach((probe) => probe.close());
});

t.test('a revoked session loses its sockets; the user’s other sessions keep theirs', async (t) => {
  const user = await registerUser(baseUrl, { password: 'password1' });
  const phone = await loginDevice(baseUrl, user);
  const tablet = await loginDevice(baseUrl, user);
  const laptopSocket = await open(baseUrl, user.sessionId, user.token);
  const phoneSocket = await open(baseUrl, phone.sessionId, phone.token);
  const tabletSocket = await open(baseUrl, tablet.sessionId, tablet.token);

  const logout = await messengerClient(baseUrl, { authorization: `Bearer ${phone.token}` }).POST('/users/me/logout');
  t.equal(logout.response.status, 200, 'logout');
  t.equal((await phoneSocket.waitClosed()).code, 1008, 'the logged-out session’s socket closes with 1008');

  const again = await open(baseUrl, phone.sessionId, phone.token);
  t.equal((await again.waitClosed()).code, 1008, 'its token no longer opens a socket');

  await publish([user.id], 'after-logout');
  await laptopSocket.event('after-logout');
  await tabletSocket.event('after-logout');
  t.equal(phoneSocket.count('after-logout'), 0, 'the closed socket got nothing more');

  const changed = await user.api.PUT('/users/me/password', { body: { currentPassword: 'password1', newPassword: 'password2' } });
  t.equal(changed.response.status, 200, 'password change ends the other sessions');
  t.equal((await tabletSocket.waitClosed()).code, 1008, 'the other session’s socket closes');
  await publish([user.id], 'after-password');
  await laptopSocket.event('after-password');
  t.notOk(laptopSocket.closed, 'the session that changed the password keeps its socket');

  const deleted = await messengerClient(baseUrl, { authorization: basicAuth(user.username, 'password2') }).DELETE('/users/me');
  t.equal(deleted.response.status, 200, 'account deleted');
  t.equal((await laptopSocket.waitClosed()).code, 1008, 'account deletion closes the last socket');
});
