// Web Push for device sessions without a socket: a local HTTPS server stands in for the
// push service; what arrives is checked (VAPID signature) and decrypted (RFC 8291).
import { createECDH, createPublicKey, randomBytes, randomUUID, verify, type ECDH } from 'node:crypto';
import { createServer } from 'node:https';
import { createRequire } from 'node:module';
import selfsigned from 'selfsigned';
import t from 'tap';
import { buildApp } from '../../src/app.ts';
import { eq } from 'drizzle-orm';
import { chatMembers, chats, realtimeConnections } from '../../src/db/schema/index.ts';
import { openDatabase } from '../../src/db/client.ts';
import type { RealtimeHub } from '../../src/realtime/hub.ts';
import { freshDatabaseUrl, testConfig } from '../helpers/app.ts';
import { deviceInfo, messengerClient, registerUser, type TestUser } from '../helpers/messenger.ts';
import { loginDevice, SocketProbe } from '../helpers/realtime.ts';

const ece = createRequire(import.meta.url)('http_ece') as {
  decrypt(buffer: Buffer, params: { version: string; privateKey: ECDH; authSecret: string }): Buffer;
};

// The stand-in push service: every request is recorded; paths under /gone/ answer 410.
const pems = await selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], {
  extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
} as never);
interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}
const received: Received[] = [];
const pushService = createServer({ key: pems.private, cert: pems.cert }, (request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    received.push({ path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks) });
    response.writeHead(request.url?.startsWith('/gone/') ? 410 : 201).end();
  });
});
await new Promise<void>((resolve) => pushService.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise((resolve) => pushService.close(resolve)));
const pushPort = (pushService.address() as { port: number }).port;

const url = await freshDatabaseUrl(t);
const database = await openDatabase({ url, poolSize: 5 });
t.teardown(() => database.close());
// The stand-in push service is on loopback, which the outbound policy refuses unless allowlisted.
const config = await testConfig(t, { outboundIpAllowlist: ['127.0.0.0/8'] });
const app = await buildApp(config, { database, logger: false, outbound: { ca: pems.cert } });
await app.listen({ port: 0, host: '127.0.0.1' });
t.teardown(() => app.close());
const baseUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
const hub = app.kernel.realtime as RealtimeHub;
const probes: SocketProbe[] = [];
t.teardown(() => probes.forEach((probe) => probe.close()));

interface Subscriber {
  endpointPath: string;
  ecdh: ECDH;
  auth: string;
  token: string;
}

function subscription(gone = false): Subscriber {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16).toString('base64url');
  const endpointPath = `/${gone ? 'gone' : 'push'}/${randomUUID()}`;
  const token = JSON.stringify({ endpoint: `https://127.0.0.1:${pushPort}${endpointPath}`, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth } });
  return { endpointPath, ecdh, auth, token };
}

/** A user whose browser session is subscribed to Web Push. */
async function webUser(gone = false): Promise<{ user: TestUser; browser: Subscriber; session: { token: string; sessionId: string } }> {
  const user = await registerUser(baseUrl);
  const browser = subscription(gone);
  const session = await loginDevice(baseUrl, user, { transport: 'web', token: browser.token });
  return { user, browser, session };
}

const arrivals = (subscriber: Subscriber) => received.filter((request) => request.path === subscriber.endpointPath);

async function arrival(subscriber: Subscriber, count = 1): Promise<Received[]> {
  const deadline = Date.now() + 5_000;
  while (arrivals(subscriber).length < count) {
    if (Date.now() > deadline) throw new Error(`no push arrived at ${subscriber.endpointPath}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return arrivals(subscriber);
}

const decrypt = (subscriber: Subscriber, push: Received) =>
  JSON.parse(ece.decrypt(push.body, { version: 'aes128gcm', privateKey: subscriber.ecdh, authSecret: subscriber.auth }).toString('utf8'));

/** Waits until the server has recorded (or dropped) the session's socket: the push decision reads that record. */
async function presence(sessionId: string, connected: boolean) {
  for (let tries = 0; ; tries += 1) {
    const rows = await app.kernel.db.select().from(realtimeConnections).where(eq(realtimeConnections.sessionId, sessionId));
    if (rows.length > 0 === connected) return;
    if (tries > 250) throw new Error(`presence of ${sessionId} did not become ${connected}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function chatWith(userIds: number[], muted: number[] = []): Promise<string> {
  // Chat rows straight into the database: these tests are about push, not the chats API.
  const [chat] = await app.kernel.db.insert(chats).values({ isPersonal: false, participantsKey: userIds.join(','), title: 'push' }).returning();
  await app.kernel.db.insert(chatMembers).values(userIds.map((userId) => ({ chatId: chat.id, userId, isMuted: muted.includes(userId) })));
  return chat.id;
}

t.test('a message reaches a web session without a socket as an encrypted, VAPID-signed push', async (t) => {
  const { user, browser } = await webUser();
  const author = await registerUser(baseUrl);
  const chatId = await chatWith([user.id, author.id]);
  const event = { event: 'message', source: String(author.id), payload: { id: 1, chatId, text: 'Hey' } };
  await app.kernel.realtime.publish({ userIds: [user.id, author.id], event, chatId, push: true });
  const [push] = await arrival(browser);
  t.same(decrypt(browser, push), event, 'the decrypted push is the socket frame');
  t.equal(push.headers['content-encoding'], 'aes128gcm');
  t.equal(push.headers.urgency, 'high', 'messages are urgent');
  t.ok(Number(push.headers.ttl) > 0, 'with a TTL');

  const { publicKey } = (await (await fetch(`${baseUrl}/push/vapidPublicKey`)).json()) as { publicKey: string };
  const match = /^vapid t=([^,]+), k=(.+)$/.exec(String(push.headers.authorization));
  t.ok(match, 'VAPID authorization header');
  t.equal(match![2], publicKey, 'signed with the key browsers subscribe with');
  const [header, claims, signature] = match![1].split('.');
  const point = Buffer.from(publicKey, 'base64url');
  const key = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') },
    format: 'jwk',
  });
  t.ok(verify('sha256', Buffer.from(`${header}.${claims}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url')), 'the JWT verifies');
  t.equal(JSON.parse(Buffer.from(claims, 'base64url').toString()).aud, `https://127.0.0.1:${pushPort}`, 'audience is the push service');
});

t.test('no push while the session has a socket; muted chats and other events get none', async (t) => {
  const { user, browser, session } = await webUser();
  const chatId = await chatWith([user.id]);
  const socket = await SocketProbe.open(baseUrl, session.sessionId, session.token);
  probes.push(socket);
  await presence(session.sessionId, true);
  await app.kernel.realtime.publish({ userIds: [user.id], event: { event: 'message', source: 'system', payload: { text: 'live' } }, chatId, push: true });
  await socket.event('message');
  await hub.drain();
  t.equal(arrivals(browser).length, 0, 'delivered over the socket, so no push');

  socket.close();
  await socket.waitClosed();
  await presence(session.sessionId, false);
  const mutedChat = await chatWith([user.id], [user.id]);
  await app.kernel.realtime.publish({ userIds: [user.id], event: { event: 'message', source: 'system', payload: { text: 'muted' } }, chatId: mutedChat, push: true });
  await app.kernel.realtime.publish({ userIds: [user.id], event: { event: 'chatUpdate', source: 'system', payload: {} }, chatId });
  await app.kernel.realtime.publish({ userIds: [user.id], event: { event: 'auxiliary', source: 'system', payload: { name: 'muted' } }, chatId: mutedChat, push: true });
  await hub.drain();
  await app.kernel.realtime.publish({ userIds: [user.id], event: { event: 'auxiliary', source: 'system', payload: { name: 'typing' } }, chatId, push: true });
  const pushes = await arrival(browser);
  t.equal(pushes.length, 1, 'muted chat: no push; chatUpdate: no push');
  t.same(decrypt(browser, pushes[0]).payload, { name: 'typing' }, 'a delivery with push: true pushes once the socket is gone');
});

t.test('push-only deliveries skip sockets and reach every web session', async (t) => {
  const { user, browser, session } = await webUser();
  const socket = await SocketProbe.open(baseUrl, session.sessionId, session.token);
  probes.push(socket);
  await app.kernel.realtime.publish({ userIds: [user.id], event: { event: 'auxiliary', source: 'system', payload: { name: 'ring' } }, push: true, webSocket: false });
  const [push] = await arrival(browser);
  t.same(decrypt(browser, push).payload, { name: 'ring' });
  await app.kernel.realtime.publish({ userIds: [user.id], event: { event: 'marker', source: 'system', payload: null } });
  await socket.event('marker');
  t.equal(socket.count('auxiliary'), 0, 'no socket frame for a push-only delivery');
});

t.test('a big event is pushed as a short stand-in', async (t) => {
  const { user, browser } = await webUser();
  const chatId = await chatWith([user.id]);
  await app.kernel.realtime.publish({ userIds: [user.id], event: { event: 'message', source: '5', payload: { text: 'z'.repeat(10_000) } }, chatId, push: true });
  const [push] = await arrival(browser);
  t.same(decrypt(browser, push), { event: 'message', source: '5', chatId, truncated: true });
});

t.test('a subscription the push service calls gone is cleared', async (t) => {
  const { user, browser, session } = await webUser(true);
  await app.kernel.realtime.publish({ userIds: [user.id], event: { event: 'message', source: 'system', payload: {} }, push: true });
  await arrival(browser);
  await hub.drain();
  const me = await messengerClient(baseUrl, { authorization: `Bearer ${session.token}` }).GET('/users/me');
  const mine = me.data?.deviceSessions.find((s) => s.id === session.sessionId);
  t.equal(mine?.deviceInfo.transport, 'web');
  t.notOk(mine?.deviceInfo.token, 'the token is gone: no more pushes to it');
});

t.test('sessions whose token is not a usable subscription are skipped', async (t) => {
  const user = await registerUser(baseUrl);
  for (const token of ['not json', JSON.stringify({ endpoint: `http://127.0.0.1:${pushPort}/push/plain`, keys: { p256dh: 'a', auth: 'b' } })]) {
    await loginDevice(baseUrl, user, { ...deviceInfo(), transport: 'web', token });
  }
  const before = received.length;
  await app.kernel.realtime.publish({ userIds: [user.id], event: { event: 'message', source: 'system', payload: {} }, push: true });
  await hub.drain();
  t.equal(received.length, before, 'nothing sent to plain-http or malformed subscriptions');
});

t.test('the VAPID keys are generated once and kept', async (t) => {
  const first = hub.vapidKeys.publicKey;
  const again = await buildApp(config, { database, logger: false });
  t.equal((again.kernel.realtime as RealtimeHub).vapidKeys.publicKey, first, 'another process on the same database signs with the same key');
  await again.close();
});
