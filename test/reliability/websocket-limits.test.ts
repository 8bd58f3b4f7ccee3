// WebSockets are bounded (issue 13, point 5): per device session and per user, the next
// upgrade is closed with 1008 and a reason; closing one lets a new one in.
import t from 'tap';
import { loadConfig } from '../../src/config.ts';
import { startApp } from '../helpers/app.ts';
import { registerUser } from '../helpers/messenger.ts';
import { loginDevice, socketOpener, type SocketProbe } from '../helpers/realtime.ts';

t.test('the defaults: 10 sockets per device session, 50 per user', async (t) => {
  t.same(loadConfig({}).webSocketLimits, { perSession: 10, perUser: 50 });
});

const { app, baseUrl } = await startApp(t, { webSocketLimits: { perSession: 3, perUser: 5 } });
const open = socketOpener(t);
let events = 0;

/** Publishes an event to the user and checks which sockets receive it: the accepted ones. */
async function receiving(userId: number, probes: SocketProbe[]): Promise<boolean[]> {
  const name = `probe${++events}`;
  await app.kernel.realtime.publish({ userIds: [userId], event: { event: name, source: 'system', payload: null } });
  const outcome = (probe: SocketProbe) => probe.until(() => (probe.frames.some((frame) => frame.event === name) ? 'received' : probe.closed && 'closed'), name);
  return Promise.all(probes.map((probe) => outcome(probe).then((seen) => seen === 'received', () => false)));
}

t.test('a device session opens at most its maximum; the next is closed with 1008 and a reason', async (t) => {
  const user = await registerUser(baseUrl);
  const sockets = [await open(baseUrl, user.sessionId, user.token), await open(baseUrl, user.sessionId, user.token), await open(baseUrl, user.sessionId, user.token)];
  const refused = await open(baseUrl, user.sessionId, user.token, 'query');
  const closed = await refused.waitClosed();
  t.equal(closed.code, 1008, 'policy violation');
  t.match(closed.reason, /too many sockets for this device session/i, 'the reason says why');
  t.same(await receiving(user.id, sockets), [true, true, true], 'the sockets within the limit stay open and receive events');

  sockets[0].socket.close();
  await sockets[0].waitClosed();
  // The server forgets the socket when it sees the close: try until it has.
  let replacement: SocketProbe | undefined;
  for (let attempt = 0; attempt < 50 && !replacement; attempt++) {
    const probe = await open(baseUrl, user.sessionId, user.token);
    const [received] = await receiving(user.id, [probe]);
    if (received) replacement = probe;
  }
  t.ok(replacement, 'closing one lets a new one in');
  t.notOk(replacement?.closed, 'and it stays open');
});

t.test('a user opens at most its maximum over all device sessions', async (t) => {
  const user = await registerUser(baseUrl);
  const second = await loginDevice(baseUrl, user);
  const first = [await open(baseUrl, user.sessionId, user.token), await open(baseUrl, user.sessionId, user.token), await open(baseUrl, user.sessionId, user.token)];
  const other = [await open(baseUrl, second.sessionId, second.token), await open(baseUrl, second.sessionId, second.token)];
  const refused = await open(baseUrl, second.sessionId, second.token);
  const closed = await refused.waitClosed();
  t.equal(closed.code, 1008, 'policy violation');
  t.match(closed.reason, /too many sockets for this user/i, 'the reason says why');
  t.same(await receiving(user.id, [...first, ...other]), [true, true, true, true, true], 'the five within the limit receive events');

  // Another user is not affected by this one's sockets.
  const stranger = await registerUser(baseUrl);
  const strangers = await open(baseUrl, stranger.sessionId, stranger.token);
  t.same(await receiving(stranger.id, [strangers]), [true], 'another user connects as usual');
});
