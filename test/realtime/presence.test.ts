// Online / last seen: GET /users/presence, and `userPresence` to the people who share a
// chat with a user, when their first socket opens and their last one closes.
import t from 'tap';
import { startApp } from '../helpers/app.ts';
import { messengerClient, registerUser } from '../helpers/messenger.ts';
import { loginDevice, socketOpener, type SocketProbe } from '../helpers/realtime.ts';

const { app, baseUrl } = await startApp(t);
const open = socketOpener(t);

const ann = await registerUser(baseUrl, { name: 'Ann' });
const bob = await registerUser(baseUrl, { name: 'Bob' });
const cat = await registerUser(baseUrl, { name: 'Cat' });
const chat = (await ann.api.POST('/chats', { body: { participants: [bob.id], isPersonal: true } })).data!;
const bobSocket = await open(baseUrl, bob.sessionId, bob.token);
const catSocket = await open(baseUrl, cat.sessionId, cat.token);

let markers = 0;
/** Runs `act`; once a marker published after it arrives, returns the userPresence frames each got meanwhile. */
async function presenceDuring(act: () => Promise<unknown>) {
  const before = { bob: bobSocket.count('userPresence'), cat: catSocket.count('userPresence') };
  await act();
  const marker = `marker${++markers}`;
  await app.kernel.realtime.publish({ userIds: [bob.id, cat.id], event: { event: marker, source: 'system', payload: null } });
  await Promise.all([bobSocket.event(marker), catSocket.event(marker)]);
  const since = (probe: SocketProbe, from: number) => probe.frames.filter((frame) => frame.event === 'userPresence').slice(from);
  return { bob: since(bobSocket, before.bob), cat: since(catSocket, before.cat) };
}

/** Time for a socket's registration (and any announcement it makes) to be done. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

const presence = async (ids: number[]) => (await bob.api.GET('/users/presence', { params: { query: { ids: ids.join(',') } } })).data!;

t.test('the current state, for signed-in callers only', async (t) => {
  const [annNow, bobNow] = await presence([ann.id, bob.id]);
  t.match(annNow, { userId: ann.id, isOnline: false, lastSeen: String }, 'Ann has no socket: offline, with when she was last seen');
  t.match(bobNow, { userId: bob.id, isOnline: true }, 'Bob has one open');
  t.same(await presence([999_999]), [], 'an unknown id is left out');
  t.same(await presence([2_147_483_648, 9_999_999_999]), [], 'so is one beyond any user id (not a 500)');
  t.match(await presence([ann.id, 9_999_999_999]), [{ userId: ann.id }], 'beside a known one');
  const anonymous = await messengerClient(baseUrl).GET('/users/presence', { params: { query: { ids: String(ann.id) } } });
  t.equal(anonymous.response.status, 401, 'no token, no presence');
  const wrong = await bob.api.GET('/users/presence', { params: { query: { ids: 'all' } } });
  t.equal(wrong.response.status, 400, 'ids are numbers');
});

t.test('coming online and going away reach who shares a chat, once', async (t) => {
  let laptop: SocketProbe | undefined;
  const online = await presenceDuring(async () => {
    laptop = await open(baseUrl, ann.sessionId, ann.token);
    await bobSocket.event('userPresence');
  });
  t.equal(online.bob.length, 1, 'Bob hears Ann come online');
  t.match(online.bob[0], { event: 'userPresence', source: String(ann.id), payload: { userId: ann.id, isOnline: true } });
  t.same(online.cat, [], 'Cat shares no chat with Ann: nothing');

  const phoneSession = await loginDevice(baseUrl, ann);
  let phone: SocketProbe | undefined;
  const second = await presenceDuring(async () => {
    phone = await open(baseUrl, phoneSession.sessionId, phoneSession.token);
    await settle();
  });
  t.same(second.bob, [], 'a second socket of an online user announces nothing');

  const oneClosed = await presenceDuring(async () => {
    laptop!.close();
    await laptop!.waitClosed();
    await settle();
  });
  t.same(oneClosed.bob, [], 'closing one of two sockets: still online');

  const closedAt = Date.now();
  const away = await presenceDuring(async () => {
    phone!.close();
    await bobSocket.next((frame) => frame.event === 'userPresence' && (frame.payload as { isOnline: boolean }).isOnline === false, 'Ann away');
  });
  t.equal(away.bob.length, 1, 'Bob hears Ann go away');
  const payload = away.bob[0].payload as { isOnline: boolean; lastSeen: string };
  t.ok(Date.parse(payload.lastSeen) >= closedAt - 1000, 'last seen when her last socket closed');
  const [annNow] = await presence([ann.id]);
  t.same(annNow, { userId: ann.id, isOnline: false, lastSeen: payload.lastSeen }, 'the endpoint agrees');
});

t.test('a blocked chat carries no presence', async (t) => {
  t.equal((await bob.api.PUT('/chats/{chatId}/block', { params: { path: { chatId: chat.id! } } })).response.status, 200);
  const blocked = await presenceDuring(async () => {
    const socket = await open(baseUrl, ann.sessionId, ann.token);
    await settle();
    socket.close();
    await settle();
  });
  t.same(blocked.bob, [], 'Bob blocked the chat: he is not told');
});
