// Several Parley processes on one database: an event published through one reaches the
// sockets of every other, and a change made through one reaches the tokens the other keeps
// in memory (PostgreSQL LISTEN/NOTIFY; on PGlite, two apps in one process share the
// embedded database and its NOTIFY).
import type { FastifyInstance } from 'fastify';
import { eq } from 'drizzle-orm';
import t from 'tap';
import { buildApp } from '../../src/app.ts';
import { openDatabase, type DatabaseHandle } from '../../src/db/client.ts';
import { instanceStarter } from '../helpers/app.ts';
import { users } from '../../src/db/schema/index.ts';
import { messengerClient, registerUser } from '../helpers/messenger.ts';
import { socketOpener } from '../helpers/realtime.ts';

const startInstance = await instanceStarter(t);
const one = await startInstance();
const two = await startInstance();
const open = socketOpener(t);

t.test('an event published through one instance reaches sockets on both', async (t) => {
  const alice = await registerUser(one.baseUrl);
  const bob = await registerUser(two.baseUrl);
  const aliceOnOne = await open(one.baseUrl, alice.sessionId, alice.token);
  const bobOnTwo = await open(two.baseUrl, bob.sessionId, bob.token);
  const aliceOnTwo = await open(two.baseUrl, alice.sessionId, alice.token, 'query');

  await one.app.kernel.realtime.publish({ userIds: [alice.id, bob.id], event: { event: 'message', source: String(alice.id), payload: { text: 'from one' } } });
  for (const probe of [aliceOnOne, bobOnTwo, aliceOnTwo]) {
    t.same(await probe.event('message'), { event: 'message', source: String(alice.id), payload: { text: 'from one' } });
  }
  const big = 'y'.repeat(20_000);
  await two.app.kernel.realtime.publish({ userIds: [alice.id], event: { event: 'big', source: 'system', payload: { big } } });
  t.equal(((await aliceOnOne.event('big')).payload as { big: string }).big, big, 'a stored (big) event crosses instances');
  t.equal(((await aliceOnTwo.event('big')).payload as { big: string }).big, big);
  t.equal(bobOnTwo.count('big'), 0, 'not to users it was not for');
  t.equal(aliceOnOne.count('message') + aliceOnTwo.count('message'), 2, 'each socket got the event once, not once per instance');
});

t.test('a session revoked through one instance loses its socket on the other at once', async (t) => {
  // The ping interval is 30 s here: only the revocation notice can close it this fast.
  const user = await registerUser(one.baseUrl);
  const socket = await open(two.baseUrl, user.sessionId, user.token);
  const started = Date.now();
  const logout = await messengerClient(one.baseUrl, { authorization: `Bearer ${user.token}` }).POST('/users/me/logout');
  t.equal(logout.response.status, 200);
  t.equal((await socket.waitClosed(5_000)).code, 1008);
  t.ok(Date.now() - started < 5_000, 'closed within seconds');
});

/** Polls `read` until `accept` holds: another process hears of a change by NOTIFY, a moment after its commit. */
async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const value = await read();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

t.test('a token revoked through one instance stops working on the other, which had it cached', async (t) => {
  const user = await registerUser(one.baseUrl);
  const onTwo = messengerClient(two.baseUrl, { authorization: `Bearer ${user.token}` });
  t.equal((await onTwo.GET('/users/me')).response.status, 200, 'cached on the second instance');
  t.equal((await messengerClient(one.baseUrl, { authorization: `Bearer ${user.token}` }).POST('/users/me/logout')).response.status, 200);
  t.equal((await messengerClient(one.baseUrl, { authorization: `Bearer ${user.token}` }).GET('/users/me')).response.status, 401, 'at once where it was revoked');
  const status = await eventually(
    async () => (await onTwo.GET('/users/me')).response.status,
    (code) => code === 401,
  );
  t.equal(status, 401, 'and on the other instance');
});

t.test('a profile changed through one instance, or in SQL, shows on the other', async (t) => {
  const user = await registerUser(one.baseUrl, { name: 'First Name' });
  const onTwo = messengerClient(two.baseUrl, { authorization: `Bearer ${user.token}` });
  t.equal((await onTwo.GET('/users/me')).data?.info.name, 'First Name');
  await messengerClient(one.baseUrl, { authorization: `Bearer ${user.token}` }).PUT('/users/me', { body: { name: 'Second Name' } });
  const name = async () => (await onTwo.GET('/users/me')).data?.info.name;
  t.equal(await eventually(name, (value) => value === 'Second Name'), 'Second Name', 'renamed through the API');

  // Any write path counts, an administrator's SQL console included (triggers send the notice).
  await one.database.db.update(users).set({ name: 'Third Name' }).where(eq(users.id, user.id));
  t.equal(await eventually(name, (value) => value === 'Third Name'), 'Third Name', 'renamed in SQL');
});

t.test('an instance that restarts keeps working', async (t) => {
  const user = await registerUser(one.baseUrl);
  const onOne = await open(one.baseUrl, user.sessionId, user.token);
  const onTwo = await open(two.baseUrl, user.sessionId, user.token);
  await two.stop();
  const closed = await onTwo.waitClosed();
  t.equal(closed.code, 1001, 'sockets of a stopping instance are told it is going away');

  const three = await startInstance();
  const onThree = await open(three.baseUrl, user.sessionId, user.token);
  await one.app.kernel.realtime.publish({ userIds: [user.id], event: { event: 'afterRestart', source: 'system', payload: { from: 'one' } } });
  await onThree.event('afterRestart');
  await onOne.event('afterRestart');
  await three.app.kernel.realtime.publish({ userIds: [user.id], event: { event: 'fromNew', source: 'system', payload: { from: 'three' } } });
  await onOne.event('fromNew');
  await onThree.event('fromNew');
  t.equal(onOne.count('afterRestart'), 1, 'the surviving instance still delivers, once');
  t.equal(onThree.count('fromNew'), 1, 'the new instance receives and delivers');
});

