// End to end: the messenger's chat and message endpoints publish, and the right sockets
// receive — every device of every member (the actor's other devices too), never a
// member blocked in the chat, a removed member or an outsider.
import t from 'tap';
import { startApp } from '../helpers/app.ts';
import { registerUser, type TestUser } from '../helpers/messenger.ts';
import { loginDevice, SocketProbe } from '../helpers/realtime.ts';
import { pngBytes, upload } from '../messenger/chat-fixtures.ts';

const { app, baseUrl } = await startApp(t);
const probes: SocketProbe[] = [];
t.teardown(() => probes.forEach((probe) => probe.close()));
const connect = async (user: TestUser, session = { sessionId: user.sessionId, token: user.token }) => {
  const probe = await SocketProbe.open(baseUrl, session.sessionId, session.token);
  probes.push(probe);
  return probe;
};

const owner = await registerUser(baseUrl);
const member = await registerUser(baseUrl);
const blocked = await registerUser(baseUrl);
const removed = await registerUser(baseUrl);
const outsider = await registerUser(baseUrl);
const newcomer = await registerUser(baseUrl);
const ownerPhone = await loginDevice(baseUrl, owner);
const sockets = {
  ownerLaptop: await connect(owner),
  ownerPhone: await connect(owner, ownerPhone),
  member: await connect(member),
  blocked: await connect(blocked),
  removed: await connect(removed),
  outsider: await connect(outsider),
  newcomer: await connect(newcomer),
};
const everyone = [owner, member, blocked, removed, outsider, newcomer].map((user) => user.id);
let markers = 0;

/**
 * Runs `act`, then publishes a marker to everyone: once a socket has the marker it has
 * everything published before it. Returns how many `event` frames each socket got.
 */
async function received(event: string, act: () => Promise<unknown>): Promise<Record<keyof typeof sockets, number>> {
  const before = Object.fromEntries(Object.entries(sockets).map(([name, probe]) => [name, probe.count(event)]));
  await act();
  markers += 1;
  const marker = `marker${markers}`;
  await app.kernel.realtime.publish({ userIds: everyone, event: { event: marker, source: 'system', payload: null } });
  await Promise.all(Object.values(sockets).map((probe) => probe.event(marker)));
  return Object.fromEntries(Object.entries(sockets).map(([name, probe]) => [name, probe.count(event) - before[name]])) as never;
}

const create = () => owner.api.POST('/chats', { body: { title: 'Team', participants: [member.id, blocked.id, removed.id], isPersonal: false } });
let created: Awaited<ReturnType<typeof create>> | undefined;
// A new chat is announced to every member at once (it shows in their lists before a message).
const announced = await received('chatUpdate', async () => {
  created = await create();
});
t.equal(created!.response.status, 200, 'group chat created');
t.same(announced, { ownerLaptop: 1, ownerPhone: 1, member: 1, blocked: 1, removed: 1, outsider: 0, newcomer: 0 }, 'chatUpdate on creation to every member');
const chatId = created!.data!.id!;
const path = { chatId };

t.test('blocking and removing members', async (t) => {
  const block = await owner.api.PUT('/chats/{chatId}/users/{userId}/block', { params: { path: { chatId, userId: blocked.id } } });
  t.equal(block.response.status, 200, 'owner blocks a member in the chat');
  const counts = await received('removedUsers', async () => {
    const removal = await owner.api.DELETE('/chats/{chatId}/users', { params: { path }, body: { users: [removed.id] } });
    t.equal(removal.response.status, 200, 'owner removes a member');
  });
  t.match(counts, { ownerLaptop: 1, ownerPhone: 1, member: 1, blocked: 0, outsider: 0, newcomer: 0 }, 'removedUsers reaches the remaining members');
});

let messageId = 0;
t.test('a posted message reaches every member device, the author’s other device included', async (t) => {
  const counts = await received('message', async () => {
    const posted = await owner.api.POST('/chats/{chatId}/messages', { params: { path }, body: { localId: `${owner.id}+${crypto.randomUUID()}`, text: 'Hey' } });
    t.equal(posted.response.status, 200);
    messageId = posted.data!.id!;
  });
  t.same(counts, { ownerLaptop: 1, ownerPhone: 1, member: 1, blocked: 0, removed: 0, outsider: 0, newcomer: 0 });
  const frame = await sockets.member.event('message');
  t.equal(frame.source, String(owner.id), 'source is the author');
  t.match(frame.payload, { id: messageId, chatId, text: 'Hey', author: { id: owner.id } }, 'payload is the MessageInfo');
});

t.test('edits, deletions and read marks', async (t) => {
  const edits = await received('messageUpdate', async () => {
    const edited = await owner.api.PUT('/chats/{chatId}/messages/{messageId}', { params: { path: { chatId, messageId } }, body: { text: 'Hey!' } });
    t.equal(edited.response.status, 200, 'edit');
  });
  t.same(edits, { ownerLaptop: 1, ownerPhone: 1, member: 1, blocked: 0, removed: 0, outsider: 0, newcomer: 0 }, 'messageUpdate');
  t.match((await sockets.ownerPhone.event('messageUpdate')).payload, { id: messageId, text: 'Hey!' });

  const reads = await received('messageRead', async () => {
    const read = await member.api.PUT('/chats/{chatId}/messages/{messageId}/read', { params: { path: { chatId, messageId } } });
    t.equal(read.response.status, 200, 'read');
  });
  t.same(reads, { ownerLaptop: 1, ownerPhone: 1, member: 1, blocked: 0, removed: 0, outsider: 0, newcomer: 0 }, 'messageRead');
  t.equal((await sockets.ownerLaptop.event('messageRead')).source, String(member.id));
});

t.test('chat updates and added members', async (t) => {
  const updates = await received('chatUpdate', async () => {
    const updated = await owner.api.PUT('/chats/{chatId}', { params: { path }, body: { title: 'Some' } });
    t.equal(updated.response.status, 200, 'title');
  });
  t.same(updates, { ownerLaptop: 1, ownerPhone: 1, member: 1, blocked: 0, removed: 0, outsider: 0, newcomer: 0 }, 'chatUpdate');
  t.match((await sockets.member.next((frame) => frame.event === 'chatUpdate' && (frame.payload as { title?: string }).title === 'Some')).payload, { id: chatId, title: 'Some' });

  const added = await received('addedUsers', async () => {
    const add = await owner.api.POST('/chats/{chatId}/users', { params: { path }, body: { users: [newcomer.id] } });
    t.equal(add.response.status, 200, 'add');
  });
  t.match(added, { ownerLaptop: 1, ownerPhone: 1, member: 1, blocked: 0, removed: 0, outsider: 0 }, 'addedUsers');
});

t.test('a group photo added or removed is announced with the images', async (t) => {
  const photo = await upload(owner, await pngBytes(), 'image/png');
  const added = await received('chatUpdate', async () => {
    const response = await owner.api.POST('/chats/{chatId}/images', { params: { path }, body: { image: { id: photo.id, fileType: 'png', fileSize: photo.size } } });
    t.equal(response.response.status, 200, 'added');
  });
  t.match(added, { ownerLaptop: 1, ownerPhone: 1, member: 1, blocked: 0, removed: 0, outsider: 0 }, 'chatUpdate to the members');
  const withPhoto = await sockets.member.next((frame) => frame.event === 'chatUpdate' && ((frame.payload as { images?: unknown[] }).images ?? []).length > 0, 'chatUpdate with the photo');
  t.match(withPhoto.payload, { id: chatId, images: [{ id: photo.id }] });

  const removedPhoto = await received('chatUpdate', async () => {
    const response = await owner.api.DELETE('/chats/{chatId}/images/{imageId}', { params: { path: { ...path, imageId: photo.id } } });
    t.equal(response.response.status, 200, 'removed');
  });
  t.match(removedPhoto, { ownerLaptop: 1, member: 1, outsider: 0 });
  const frames = sockets.member.frames.filter((frame) => frame.event === 'chatUpdate');
  t.notOk((frames.at(-1)!.payload as { images?: unknown[] }).images, 'the last chatUpdate has no images left');
});

t.test('notify sends auxiliary to the members', async (t) => {
  const data = Buffer.from(JSON.stringify({ deleted: true })).toString('base64');
  const counts = await received('auxiliary', async () => {
    const sent = await member.api.POST('/chats/{chatId}/notify', { params: { path }, body: { name: 'typing', data } });
    t.equal(sent.response.status, 200);
  });
  t.same(counts, { ownerLaptop: 1, ownerPhone: 1, member: 1, blocked: 0, removed: 0, outsider: 0, newcomer: 1 }, 'auxiliary');
  const frame = await sockets.ownerPhone.event('auxiliary');
  t.equal(frame.source, String(member.id));
  t.match(frame.payload, { name: 'typing', data: { deleted: true } }, 'data is decoded JSON');
  t.equal((frame.payload as { chatId?: string }).chatId, path.chatId, 'the notice names its chat');
});

t.test('clearing and deleting the chat', async (t) => {
  const cleared = await received('chatCleared', async () => {
    t.equal((await owner.api.DELETE('/chats/{chatId}/messages', { params: { path } })).response.status, 200, 'clear');
  });
  t.same(cleared, { ownerLaptop: 1, ownerPhone: 1, member: 1, blocked: 0, removed: 0, outsider: 0, newcomer: 1 }, 'chatCleared');
  t.same((await sockets.member.event('chatCleared')).payload, { chatId }, 'chatCleared names its chat');
  const deleted = await received('chatDeleted', async () => {
    t.equal((await owner.api.DELETE('/chats/{chatId}', { params: { path } })).response.status, 200, 'delete');
  });
  t.same(deleted, { ownerLaptop: 1, ownerPhone: 1, member: 1, blocked: 0, removed: 0, outsider: 0, newcomer: 1 }, 'chatDeleted');
  t.match((await sockets.member.event('chatDeleted')).payload, { id: chatId });
});
