// The authorization matrix: every chat-scoped endpoint × {owner, member, non-member,
// removed member, blocked member, anonymous}. Each cell runs against a fresh chat, so a
// missing membership, block or role check fails here.
import t from 'tap';
import { startApp } from '../helpers/app.ts';
import { messengerClient, type MessengerClient, type TestUser } from '../helpers/messenger.ts';
import { createChat, localId, pngBytes, upload, users } from './chat-fixtures.ts';

const { baseUrl } = await startApp(t);
const [owner, member, removed, blocked, stranger, spare, newcomer] = await users(baseUrl, 7);
const anonymous = { id: 0, api: messengerClient(baseUrl) } as unknown as TestUser;

type Actor = 'owner' | 'member' | 'nonMember' | 'removed' | 'blocked' | 'anonymous';
const actors: Record<Actor, TestUser> = { owner, member, nonMember: stranger, removed, blocked, anonymous };

interface Fixture {
  chatId: string;
  /** The message each actor wrote (the owner's for those who could not write one). */
  messageOf: Record<Actor, number>;
  ownerMessage: number;
  imageId: string;
}

/** A group chat of owner, member, removed, blocked and spare; removed is then removed and blocked blocked. */
let creating: Promise<unknown> = Promise.resolve();

/**
 * Creating the same members twice answers the existing chat, so fixtures are created one
 * at a time, each made unique at once by adding spare (its key then differs from the next request).
 */
function newChat(): Promise<string> {
  const next = creating.then(async () => {
    const chat = await createChat(owner, [member, removed, blocked], { isPersonal: false, title: 'Matrix' });
    await owner.api.POST('/chats/{chatId}/users', { params: { path: { chatId: chat.id } }, body: { users: [spare.id] } });
    return chat.id;
  });
  creating = next;
  return next;
}

async function fixture(): Promise<Fixture> {
  const chatId = await newChat();
  const write = async (user: TestUser) => {
    const { data } = await user.api.POST('/chats/{chatId}/messages', { params: { path: { chatId } }, body: { localId: localId(user), text: `by ${user.id}` } });
    return data!.id;
  };
  const [ownerMessage, memberMessage, removedMessage, blockedMessage, image] = await Promise.all([
    write(owner),
    write(member),
    write(removed),
    write(blocked),
    pngBytes().then((bytes) => upload(owner, bytes, 'image/png')),
  ]);
  await owner.api.POST('/chats/{chatId}/images', { params: { path: { chatId } }, body: { image: { id: image.id, fileType: 'png', fileSize: image.size } } });
  await owner.api.DELETE('/chats/{chatId}/users', { params: { path: { chatId } }, body: { users: [removed.id] } });
  await owner.api.PUT('/chats/{chatId}/users/{userId}/block', { params: { path: { chatId, userId: blocked.id } } });
  return {
    chatId,
    ownerMessage,
    imageId: image.id,
    messageOf: { owner: ownerMessage, member: memberMessage, removed: removedMessage, blocked: blockedMessage, nonMember: ownerMessage, anonymous: ownerMessage },
  };
}

type Call = (api: MessengerClient, f: Fixture, actor: Actor) => Promise<{ response: Response }>;
type Expect = Record<Actor, number>;

const chat = (f: Fixture) => ({ params: { path: { chatId: f.chatId } } });
const msg = (f: Fixture, messageId: number) => ({ params: { path: { chatId: f.chatId, messageId } } });
const spareUser = (f: Fixture) => ({ params: { path: { chatId: f.chatId, userId: spare.id } } });
const all = (status: number, overrides: Partial<Expect> = {}): Expect => ({
  owner: status,
  member: status,
  nonMember: 403,
  removed: 403,
  blocked: 403,
  anonymous: 401,
  ...overrides,
});

const matrix: [string, Call, Expect][] = [
  ['GET /chats/:id', (api, f) => api.GET('/chats/{chatId}', chat(f)), all(200, { blocked: 200 })],
  ['PUT /chats/:id', (api, f) => api.PUT('/chats/{chatId}', { ...chat(f), body: { title: 'New' } }), all(200)],
  ['DELETE /chats/:id', (api, f) => api.DELETE('/chats/{chatId}', chat(f)), all(200, { member: 403, nonMember: 404, removed: 404 })],
  ['PUT /chats/:id/settings', (api, f) => api.PUT('/chats/{chatId}/settings', { ...chat(f), body: { isMuted: true } }), all(200, { blocked: 200 })],
  [
    'POST /chats/:id/images',
    async (api, f, actor) => {
      const image = await upload(actor === 'anonymous' ? owner : actors[actor], await pngBytes(), 'image/png');
      return api.POST('/chats/{chatId}/images', { ...chat(f), body: { image: { id: image.id, fileType: 'png', fileSize: image.size } } });
    },
    all(200, { member: 403 }),
  ],
  [
    'DELETE /chats/:id/images/:imageId',
    (api, f) => api.DELETE('/chats/{chatId}/images/{imageId}', { params: { path: { chatId: f.chatId, imageId: f.imageId } } }),
    all(200, { member: 403 }),
  ],
  ['POST /chats/:id/users', (api, f) => api.POST('/chats/{chatId}/users', { ...chat(f), body: { users: [newcomer.id] } }), all(200)],
  ['DELETE /chats/:id/users', (api, f) => api.DELETE('/chats/{chatId}/users', { ...chat(f), body: { users: [spare.id] } }), all(200, { member: 403 })],
  ['DELETE /chats/:id/me', (api, f) => api.DELETE('/chats/{chatId}/me', chat(f)), all(200, { blocked: 200 })],
  ['PUT /chats/:id/block', (api, f) => api.PUT('/chats/{chatId}/block', chat(f)), all(200, { blocked: 200 })],
  ['PUT /chats/:id/unblock', (api, f) => api.PUT('/chats/{chatId}/unblock', chat(f)), all(200, { blocked: 200 })],
  ['PUT /chats/:id/users/:userId/block', (api, f) => api.PUT('/chats/{chatId}/users/{userId}/block', spareUser(f)), all(200, { member: 403 })],
  ['PUT /chats/:id/users/:userId/unblock', (api, f) => api.PUT('/chats/{chatId}/users/{userId}/unblock', spareUser(f)), all(200, { member: 403 })],
  ['GET /chats/:id/users/blocked', (api, f) => api.GET('/chats/{chatId}/users/blocked', chat(f)), all(200)],
  ['GET /chats/:id/messages', (api, f) => api.GET('/chats/{chatId}/messages', chat(f)), all(200)],
  [
    'POST /chats/:id/messages',
    (api, f, actor) => api.POST('/chats/{chatId}/messages', { ...chat(f), body: { localId: localId(actors[actor]), text: 'hi' } }),
    all(200),
  ],
  ['DELETE /chats/:id/messages', (api, f) => api.DELETE('/chats/{chatId}/messages', chat(f)), all(200, { member: 403 })],
  [
    'PUT /chats/:id/messages/:messageId (own message)',
    (api, f, actor) => api.PUT('/chats/{chatId}/messages/{messageId}', { ...msg(f, f.messageOf[actor]), body: { text: 'edited' } }),
    all(200),
  ],
  [
    "PUT /chats/:id/messages/:messageId (owner's message)",
    (api, f) => api.PUT('/chats/{chatId}/messages/{messageId}', { ...msg(f, f.ownerMessage), body: { text: 'edited' } }),
    all(200, { member: 403 }),
  ],
  [
    'DELETE /chats/:id/messages/:messageId (own message)',
    (api, f, actor) => api.DELETE('/chats/{chatId}/messages/{messageId}', msg(f, f.messageOf[actor])),
    all(200, { blocked: 200 }),
  ],
  [
    "DELETE /chats/:id/messages/:messageId (owner's message)",
    (api, f) => api.DELETE('/chats/{chatId}/messages/{messageId}', msg(f, f.ownerMessage)),
    all(200, { member: 403 }),
  ],
  ['PUT /chats/:id/messages/:messageId/read', (api, f) => api.PUT('/chats/{chatId}/messages/{messageId}/read', msg(f, f.ownerMessage)), all(200, { blocked: 200 })],
  ['POST /chats/:id/notify', (api, f) => api.POST('/chats/{chatId}/notify', { ...chat(f), body: { name: 'typing' } }), all(200)],
];

for (const [endpoint, call, expected] of matrix) {
  t.test(endpoint, async (t) => {
    // Each cell has its own chat, so the cells of a row run side by side.
    const cells = Object.keys(actors) as Actor[];
    const statuses = await Promise.all(
      cells.map(async (actor) => {
        const f = await fixture();
        return (await call(actors[actor].api, f, actor)).response.status;
      }),
    );
    cells.forEach((actor, i) => t.equal(statuses[i], expected[actor], `${actor} → ${expected[actor]}`));
  });
}

t.test('a refused write changes nothing', async (t) => {
  const f = await fixture();
  const before = await owner.api.GET('/chats/{chatId}', chat(f));
  const history = await owner.api.GET('/chats/{chatId}/messages', chat(f));
  for (const user of [stranger, removed, blocked]) {
    await user.api.PUT('/chats/{chatId}', { ...chat(f), body: { title: 'hacked' } });
    await user.api.POST('/chats/{chatId}/messages', { ...chat(f), body: { localId: localId(user), text: 'sneaky' } });
    await user.api.POST('/chats/{chatId}/users', { ...chat(f), body: { users: [user.id] } });
    await user.api.DELETE('/chats/{chatId}/messages', chat(f));
  }
  const after = await owner.api.GET('/chats/{chatId}', chat(f));
  t.equal(after.data?.title, before.data?.title);
  t.same(after.data?.allUsers, before.data?.allUsers);
  t.same((await owner.api.GET('/chats/{chatId}/messages', chat(f))).data, history.data);
});
