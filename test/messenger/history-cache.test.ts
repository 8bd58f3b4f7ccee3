// History pages come from a per-process cache. What a user must never see: a page older than
// their own write on the same process, or older than an event another process's socket has
// already delivered. Two instances share one database (PostgreSQL under TEST_DATABASE_URL,
// else one PGlite), as two Parley processes do.
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { buildApp } from '../../src/app.ts';
import { openDatabase } from '../../src/db/client.ts';
import { HistoryCache, type HistoryPage } from '../../src/messenger/history-cache.ts';
import { instanceStarter } from '../helpers/app.ts';
import { messengerClient, registerUser, type TestUser } from '../helpers/messenger.ts';
import { SocketProbe } from '../helpers/realtime.ts';
import { createChat, localId, post, upload } from './chat-fixtures.ts';

const startInstance = await instanceStarter(t);
const one = await startInstance();
const two = await startInstance();

interface Message {
  id: number;
  text: string;
  author: { name: string; photos?: unknown[] };
  readMarks?: Array<{ user: { id: number } }>;
  attachments?: Array<{ id: string }>;
  deletedAt?: string;
}

/** The newest page of a chat as `user` reads it through `baseUrl`. */
async function history(baseUrl: string, user: TestUser, chatId: string): Promise<Message[]> {
  const api = messengerClient(baseUrl, { authorization: `Bearer ${user.token}` });
  const { data, response } = await api.GET('/chats/{chatId}/messages', { params: { path: { chatId }, query: { count: 20 } } });
  if (!data) throw new Error(`history failed: ${response.status}`);
  return data as Message[];
}

async function pair(): Promise<{ ann: TestUser; bob: TestUser; chatId: string }> {
  const ann = await registerUser(one.baseUrl, { name: 'Ann Before' });
  const bob = await registerUser(one.baseUrl);
  const chat = await createChat(ann, [bob], { title: 'Cached', isPersonal: false });
  return { ann, bob, chatId: chat.id };
}

t.test('on one process, every write shows in the next page read, with no wait', async (t) => {
  const { ann, bob, chatId } = await pair();
  const first = await post(ann, chatId, 'first');
  t.same((await history(one.baseUrl, bob, chatId)).map((m) => m.text), ['first'], 'page loaded (and kept)');
  t.ok(one.app.kernel.history.size > 0, 'the page is in the cache');

  await post(ann, chatId, 'second');
  t.same((await history(one.baseUrl, bob, chatId)).map((m) => m.text), ['second', 'first'], 'a new message');

  const id = first.data!.id;
  await ann.api.PUT('/chats/{chatId}/messages/{messageId}', { params: { path: { chatId, messageId: id } }, body: { text: 'first, edited' } });
  t.equal((await history(one.baseUrl, bob, chatId)).at(-1)?.text, 'first, edited', 'an edit');

  await bob.api.PUT('/chats/{chatId}/messages/{messageId}/read', { params: { path: { chatId, messageId: id } } });
  t.same((await history(one.baseUrl, ann, chatId)).at(-1)?.readMarks?.map((mark) => mark.user.id), [bob.id], 'a read mark');

  const file = await upload(ann, 'an attachment', 'text/plain');
  const withFile = await ann.api.POST('/chats/{chatId}/messages', { params: { path: { chatId } }, body: { localId: localId(ann), attachments: [{ id: file.id, fileType: 'txt', fileSize: file.size }] } });
  t.same((await history(one.baseUrl, bob, chatId))[0].attachments?.map((a) => a.id), [file.id], 'an attachment');
  await ann.api.DELETE('/media/{mediaId}', { params: { path: { mediaId: file.id } } });
  const afterDelete = (await history(one.baseUrl, bob, chatId)).find((m) => m.id === withFile.data!.id);
  t.equal(afterDelete?.attachments, undefined, 'a deleted attachment');

  await ann.api.PUT('/users/me', { body: { name: 'Ann After' } });
  t.ok((await history(one.baseUrl, bob, chatId)).every((m) => m.author.name === 'Ann After'), "the author's new name");

  await ann.api.DELETE('/chats/{chatId}/messages/{messageId}', { params: { path: { chatId, messageId: id } } });
  t.ok((await history(one.baseUrl, bob, chatId)).at(-1)?.deletedAt, 'a delete');

  await ann.api.DELETE('/chats/{chatId}/messages', { params: { path: { chatId } } });
  t.same(await history(one.baseUrl, bob, chatId), [], 'clearing the chat');
});

t.test('another process never shows a page older than what its sockets delivered', async (t) => {
  const { ann, bob, chatId } = await pair();
  await post(ann, chatId, 'one');
  t.same((await history(two.baseUrl, bob, chatId)).map((m) => m.text), ['one'], 'the page is cached on the second process');
  const socket = await SocketProbe.open(two.baseUrl, bob.sessionId, bob.token);
  t.teardown(() => socket.close());

  const posted = await post(ann, chatId, 'two');
  await socket.next((frame) => frame.event === 'message' && (frame.payload as { id: number }).id === posted.data!.id, 'the message event');
  t.same((await history(two.baseUrl, bob, chatId)).map((m) => m.text), ['two', 'one'], 'after the message event');

  await ann.api.PUT('/chats/{chatId}/messages/{messageId}', { params: { path: { chatId, messageId: posted.data!.id } }, body: { text: 'two, edited' } });
  await socket.event('messageUpdate');
  t.equal((await history(two.baseUrl, bob, chatId))[0].text, 'two, edited', 'after the update event');
});

t.test("an author's new name reaches the other process's pages (change notice)", async (t) => {
  const { ann, bob, chatId } = await pair();
  await post(ann, chatId, 'hello');
  t.equal((await history(two.baseUrl, bob, chatId))[0].author.name, 'Ann Before');
  await ann.api.PUT('/users/me', { body: { name: 'Ann Renamed' } });
  // The notice crosses processes within milliseconds: wait for it, but no longer than 5 s.
  let name = '';
  for (const deadline = Date.now() + 5_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 20))) {
    name = (await history(two.baseUrl, bob, chatId))[0].author.name;
    if (name === 'Ann Renamed') break;
  }
  t.equal(name, 'Ann Renamed');
});

t.test('a non-member is refused even when the page is cached', async (t) => {
  const { ann, bob, chatId } = await pair();
  await post(ann, chatId, 'members only');
  await history(one.baseUrl, bob, chatId);
  const stranger = await registerUser(one.baseUrl);
  const api = messengerClient(one.baseUrl, { authorization: `Bearer ${stranger.token}` });
  const { response, error } = await api.GET('/chats/{chatId}/messages', { params: { path: { chatId } } });
  t.equal(response.status, 403);
  t.match(error, { error: true });
});

t.test('a load overlapped by a change of its chat is answered but not kept', async (t) => {
  const cache = new HistoryCache({ maxBytes: 1 << 20 });
  let release!: () => void;
  const loaded = (json: string): Promise<HistoryPage> =>
    new Promise((resolve) => {
      release = () => resolve({ chatId: 'c1', json, userIds: [7] });
    });
  const pending = cache.page('c1', 50, undefined, () => loaded('["old"]'));
  cache.forgetChat('c1');
  release();
  t.equal(await pending, '["old"]', 'the caller gets what was loaded');
  t.equal(cache.size, 0, 'but it is not kept');

  const again = cache.page('c1', 50, undefined, () => loaded('["new"]'));
  release();
  t.equal(await again, '["new"]');
  t.equal(await cache.page('c1', 50, undefined, () => Promise.reject(new Error('not called'))), '["new"]', 'kept now');
  cache.forgetUser(7);
  t.equal(cache.size, 0, 'a change of a user on the page drops it');

  const off = new HistoryCache({ maxBytes: 0 });
  let loads = 0;
  const load = async () => ({ chatId: 'c2', json: `[${++loads}]`, userIds: [] });
  await off.page('c2', 50, undefined, load);
  t.equal(await off.page('c2', 50, undefined, load), '[2]', 'HISTORY_CACHE_MB=0 loads every time');
});

t.test('removed, blocked or gone: refused on every process as soon as the change is answered', async (t) => {
  const ann = await registerUser(one.baseUrl);
  const [bob, cat] = [await registerUser(one.baseUrl), await registerUser(one.baseUrl)];
  const chatId = (await createChat(ann, [bob, cat], { title: 'Members', isPersonal: false })).id;
  await post(ann, chatId, 'for members');
  const reads = async (user: TestUser) =>
    Promise.all(
      [one, two].map(async ({ baseUrl }) => {
        const api = messengerClient(baseUrl, { authorization: `Bearer ${user.token}` });
        const { response, error } = await api.GET('/chats/{chatId}/messages', { params: { path: { chatId } } });
        return response.status === 200 ? 200 : `${response.status} ${(error as { reason: string }).reason}`;
      }),
    );
  t.same(await reads(bob), [200, 200], 'a member reads on both processes (and both remember it)');
  t.same(await reads(cat), [200, 200]);
  t.ok(two.app.kernel.membership.size > 0);

  const remembered = two.app.kernel.membership.size;
  const blocked = await ann.api.PUT('/chats/{chatId}/users/{userId}/block', { params: { path: { chatId, userId: bob.id } } });
  t.equal(blocked.response.status, 200);
  t.ok(two.app.kernel.membership.size < remembered, 'the other process forgot the chat before the answer came');
  t.same(await reads(bob), ['403 You are blocked in this chat', '403 You are blocked in this chat'], 'blocked');
  await ann.api.PUT('/chats/{chatId}/users/{userId}/unblock', { params: { path: { chatId, userId: bob.id } } });
  t.same(await reads(bob), [200, 200], 'unblocked');

  const removed = await ann.api.DELETE('/chats/{chatId}/users', { params: { path: { chatId } }, body: { users: [bob.id] } });
  t.equal(removed.response.status, 200);
  t.same(await reads(bob), ['403 You are not a member of this chat', '403 You are not a member of this chat'], 'removed');

  await cat.api.DELETE('/chats/{chatId}/me', { params: { path: { chatId } } });
  t.same(await reads(cat), ['403 You are not a member of this chat', '403 You are not a member of this chat'], 'left');

  await ann.api.POST('/chats/{chatId}/users', { params: { path: { chatId } }, body: { users: [bob.id] } });
  t.same(await reads(bob), [200, 200], 'added back');
});
