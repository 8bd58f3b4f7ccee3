// Two Parley processes on one PostgreSQL, sockets on both: one is killed, its clients
// reconnect to the other and miss nothing committed after they reconnected, with no
// duplicate delivery to any socket.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { freshDatabaseUrl } from '../helpers/app.ts';
import { freePort, json, PG_ADMIN, ready, register, startServer, stopOnTeardown, tempDir } from '../helpers/child-server.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { SocketProbe } from '../helpers/realtime.ts';

process.env.TEST_DATABASE_URL ||= PG_ADMIN;

t.test('a killed process: its clients reconnect to the other and miss nothing', async (t) => {
  const databaseUrl = (await freshDatabaseUrl(t))!;
  const first = startServer({ PORT: String(await freePort()), DATABASE_URL: databaseUrl, DATA_DIR: await tempDir(t) });
  stopOnTeardown(t, first);
  await ready(first, 'first');
  const second = startServer({ PORT: String(await freePort()), DATABASE_URL: databaseUrl, DATA_DIR: await tempDir(t) });
  stopOnTeardown(t, second);
  await ready(second, 'second');

  const alice = await register(first.baseUrl);
  const bob = await register(second.baseUrl);
  const created = await rawRequest(first.baseUrl, json('POST', '/api/chats', { title: 'Cluster', participants: [bob.id], isPersonal: false }, alice.token));
  t.equal(created.status, 200, 'chat created');
  const chatId = (created.json as { id: string }).id;
  const post = async (text: string) => {
    const response = await rawRequest(first.baseUrl, json('POST', `/api/chats/${chatId}/messages`, { localId: `${alice.id}+${randomUUID()}`, text }, alice.token));
    if (response.status !== 200) throw new Error(`post: ${response.status} ${response.text}`);
    return (response.json as { id: number }).id;
  };

  const aliceSocket = await SocketProbe.open(first.baseUrl, alice.sessionId, alice.token);
  const bobOnSecond = await SocketProbe.open(second.baseUrl, bob.sessionId, bob.token);
  t.teardown(() => {
    aliceSocket.close();
    bobOnSecond.close();
  });
  const before = await post('before the crash');
  await bobOnSecond.next((f) => f.event === 'message' && (f.payload as { id: number }).id === before, 'the first message on the second process', 10_000);

  second.process.kill('SIGKILL');
  await second.exited;
  await bobOnSecond.waitClosed(10_000);
  t.pass('the socket on the killed process closed');

  const bobOnFirst = await SocketProbe.open(first.baseUrl, bob.sessionId, bob.token);
  t.teardown(() => bobOnFirst.close());
  t.notOk(bobOnFirst.closed, 'bob reconnected to the surviving process');
  const sent: number[] = [];
  for (let i = 0; i < 20; i++) sent.push(await post(`after the crash ${i}`));

  const idsOf = (probe: SocketProbe) => probe.frames.filter((f) => f.event === 'message').map((f) => (f.payload as { id: number }).id);
  await bobOnFirst.until(() => sent.every((id) => idsOf(bobOnFirst).includes(id)), 'every message after the reconnect', 15_000);
  await aliceSocket.until(() => sent.every((id) => idsOf(aliceSocket).includes(id)), 'every message at the surviving socket', 15_000);
  t.same(idsOf(bobOnFirst), sent, 'the reconnected socket got every later message once, in order');
  t.same(idsOf(aliceSocket), [before, ...sent], 'the socket on the surviving process got each message exactly once');

  const history = await rawRequest(first.baseUrl, json('GET', `/api/chats/${chatId}/messages?count=50`, undefined, bob.token));
  t.equal((history.json as unknown[]).length, 21, 'history has every message once');
});
