// Messages: posting (localId dedup, limits, replies, attachments), history paging, edit,
// soft delete, read marks, clearing, notify — and what gets published for each.
import t from 'tap';
import { startApp } from '../helpers/app.ts';
import { loginDevice } from '../helpers/realtime.ts';
import { createChat, localId, post, recordEvents, upload, users } from './chat-fixtures.ts';

const testApp = await startApp(t);
const { baseUrl } = testApp;
const events = recordEvents(testApp.app);
const sorted = (list: number[]) => [...list].sort((a, b) => a - b);

t.test('post: echoed back, one message event per participant, author included', async (t) => {
  const [ann, bob, cat] = await users(baseUrl, 3);
  const group = await createChat(ann, [bob, cat], { title: 'Chat' });
  events.clear();
  const id = localId(ann);
  const posted = await ann.api.POST('/chats/{chatId}/messages', { params: { path: { chatId: group.id } }, body: { localId: id, text: 'Hey', language: 'en' } });
  t.equal(posted.response.status, 200);
  t.equal(posted.data?.text, 'Hey');
  t.equal(posted.data?.localId, id);
  t.equal(posted.data?.author.id, ann.id);
  t.equal(posted.data?.chatId, group.id);
  t.equal(posted.data?.isVisible, true, 'visible by default');
  t.equal(posted.data?.language, 'en');
  t.type(posted.data?.id, 'number', 'integer message id');
  const published = events.of(group.id, 'message');
  t.equal(published.length, 1, 'published once');
  t.same(sorted(published[0].userIds), sorted([ann.id, bob.id, cat.id]), 'every participant, the author too');
  t.equal(published[0].event.source, String(ann.id));
  t.equal(published[0].push, false, 'no participant has a Web Push subscription: no push lookup');
  t.same(published[0].event.payload, posted.data, 'the payload is the MessageInfo');

  // Once a member's browser session is subscribed, posts ask for push (to sessions without a socket).
  await loginDevice(baseUrl, cat, { transport: 'web', token: JSON.stringify({ endpoint: 'https://push.invalid/x', keys: { p256dh: 'k', auth: 'a' } }) });
  events.clear();
  await post(bob, group.id, 'Anyone?');
  t.equal(events.of(group.id, 'message')[0]?.push, true, 'a subscribed member: push');
  await cat.api.PUT('/chats/{chatId}/settings', { params: { path: { chatId: group.id } }, body: { isMuted: true } });
  events.clear();
  await post(bob, group.id, 'Muted?');
  t.equal(events.of(group.id, 'message')[0]?.push, false, 'the subscribed member muted the chat: no push');
});

t.test('localId: the same localId twice is one message, also concurrently', async (t) => {
  const [ann, bob] = await users(baseUrl, 2);
  const chat = await createChat(ann, [bob]);
  const chatPath = { params: { path: { chatId: chat.id } } };
  const id = localId(ann);
  const first = await ann.api.POST('/chats/{chatId}/messages', { ...chatPath, body: { localId: id, text: 'once' } });
  events.clear();
  const second = await ann.api.POST('/chats/{chatId}/messages', { ...chatPath, body: { localId: id, text: 'twice?' } });
  t.equal(second.response.status, 200);
  t.equal(second.data?.id, first.data?.id, 'the first message is returned');
  t.equal(second.data?.text, 'once');
  t.equal(events.of(chat.id).length, 0, 'no second event');

  const racing = localId(ann);
  const results = await Promise.all(
    Array.from({ length: 8 }, (_, i) => ann.api.POST('/chats/{chatId}/messages', { ...chatPath, body: { localId: racing, text: `race ${i}` } })),
  );
  t.same(
    results.map((r) => r.response.status),
    Array(8).fill(200),
  );
  t.equal(new Set(results.map((r) => r.data?.id)).size, 1, 'one message for eight concurrent posts');
  const history = await ann.api.GET('/chats/{chatId}/messages', chatPath);
  t.equal(history.data?.filter((m) => m.localId === racing).length, 1, 'stored once');
  t.equal(events.of(chat.id, 'message').length, 1, 'published once');

  const stolen = await bob.api.POST('/chats/{chatId}/messages', { ...chatPath, body: { localId: id, text: 'mine' } });
  t.equal(stolen.response.status, 409, "another author's localId is not answered with their message");
});

t.test('post: validation', async (t) => {
  const [ann, bob] = await users(baseUrl, 2);
  const chat = await createChat(ann, [bob]);
  const chatPath = { params: { path: { chatId: chat.id } } };
  const send = (body: unknown) => ann.api.POST('/chats/{chatId}/messages', { ...chatPath, body: body as never });
  t.equal((await send({ localId: localId(ann), text: 'x'.repeat(25_000) })).response.status, 200, '25,000 characters');
  t.equal((await send({ localId: localId(ann), text: '😀'.repeat(25_000) })).response.status, 200, '25,000 characters outside the BMP (100,000 bytes of JSON... under 100 KB)');
  const tooLong = await send({ localId: localId(ann), text: 'x'.repeat(25_001) });
  t.equal(tooLong.response.status, 400, 'over 25,000 characters');
  t.equal(tooLong.error?.error, true);
  t.equal((await send({ localId: localId(ann), text: '' })).response.status, 400, 'empty text');
  t.equal((await send({ localId: localId(ann) })).response.status, 400, 'no text, no attachments');
  t.equal((await send({ localId: 'short', text: 'x' })).response.status, 400, 'short localId');
  t.equal((await send({ text: 'x' })).response.status, 400, 'missing localId');
  t.equal((await send({ localId: localId(ann), text: 'x', language: 'English!' })).response.status, 400, 'invalid language');
  const huge = await fetch(`${baseUrl}/api/chats/${chat.id}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ann.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ localId: localId(ann), text: 'x', padding: 'p'.repeat(101 * 1024) }),
  });
  t.equal(huge.status, 413, 'body over 100 KB');
  t.same(Object.keys((await huge.json()) as object), ['error', 'reason'], 'in the envelope');
  const history = await ann.api.GET('/chats/{chatId}/messages', chatPath);
  t.equal(history.data?.length, 2, 'no refused message was stored');
});

t.test('replyTo', async (t) => {
  const [ann, bob] = await users(baseUrl, 2);
  const chat = await createChat(ann, [bob]);
  const other = await createChat(ann, [ann]);
  const original = await post(bob, chat.id, 'question');
  const elsewhere = await post(ann, other.id, 'note');
  const reply = await post(ann, chat.id, 'answer', { replyTo: original.data!.id });
  t.equal(reply.response.status, 200);
  t.equal(reply.data?.replyTo, original.data?.id);
  t.equal((await post(ann, chat.id, 'x', { replyTo: 9_000_000 })).response.status, 400, 'unknown message');
  t.equal((await post(ann, chat.id, 'x', { replyTo: elsewhere.data!.id })).response.status, 400, 'a message of another chat');
});

t.test('attachments: kept in order, edited, detached on delete', async (t) => {
  const [ann, bob] = await users(baseUrl, 2);
  const chat = await createChat(ann, [bob]);
  const files: Awaited<ReturnType<typeof upload>>[] = [];
  for (let i = 0; i < 3; i++) files.push(await upload(ann, `file ${i}`, 'text/plain'));
  const media = (f: (typeof files)[number]) => ({ id: f.id, fileType: 'plain', fileSize: f.size });

  const posted = await post(ann, chat.id, 'files', { attachments: [media(files[2]), media(files[0])] });
  t.equal(posted.response.status, 200);
  t.same(
    posted.data?.attachments?.map((a) => a.id),
    [files[2].id, files[0].id],
    'order kept',
  );
  t.equal(posted.data?.attachments?.[0].previewWidth, 300, 'preview defaults');
  const path_ = { params: { path: { chatId: chat.id, messageId: posted.data!.id } } };

  const flags = await ann.api.PUT('/chats/{chatId}/messages/{messageId}', { ...path_, body: { fileExists: true, previewExists: true } });
  t.equal(flags.response.status, 200, 'fileExists/previewExists accepted');
  const reordered = await ann.api.PUT('/chats/{chatId}/messages/{messageId}', { ...path_, body: { attachments: [media(files[0]), media(files[1]), media(files[2])] } });
  t.same(
    reordered.data?.attachments?.map((a) => a.id),
    files.map((f) => f.id),
    'added and reordered',
  );
  const fewer = await ann.api.PUT('/chats/{chatId}/messages/{messageId}', { ...path_, body: { attachments: [media(files[1])] } });
  t.same(
    fewer.data?.attachments?.map((a) => a.id),
    [files[1].id],
    'removed',
  );

  const attachOnly = await ann.api.POST('/chats/{chatId}/messages', { params: { path: { chatId: chat.id } }, body: { localId: localId(ann), attachments: [media(files[0])] } });
  t.equal(attachOnly.response.status, 200, 'attachments without text');
  t.equal((await post(ann, chat.id, 'again', { attachments: [media(files[0])] })).response.status, 400, 'a file already attached to another message');
  const bobs = await upload(bob, 'bob file', 'text/plain');
  t.equal((await post(ann, chat.id, 'x', { attachments: [media(bobs)] })).response.status, 403, "someone else's upload");
  t.equal((await post(ann, chat.id, 'x', { attachments: [{ id: '00000000-0000-4000-8000-000000000009', fileType: 'png', fileSize: 1 }] })).response.status, 400, 'never uploaded');
  t.equal((await post(ann, chat.id, 'x', { attachments: [{ id: files[2].id, fileType: '', fileSize: 1 }] })).response.status, 400, 'empty fileType');
  t.equal((await post(ann, chat.id, 'x', { attachments: [{ fileType: 'png', fileSize: 1 }] })).response.status, 400, 'attachment without id');

  const deleted = await ann.api.DELETE('/chats/{chatId}/messages/{messageId}', path_);
  t.equal(deleted.response.status, 200);
  t.equal(deleted.data?.attachments, undefined, 'attachments detached');
  t.ok((await ann.api.GET('/media/recents')).data?.some((m) => m.id === files[1].id), 'the media itself is kept');
});

t.test('history: newest first, count and before, stable while others post', async (t) => {
  const [ann, bob] = await users(baseUrl, 2);
  const chat = await createChat(ann, [bob]);
  const chatPath = { params: { path: { chatId: chat.id } } };
  for (let i = 1; i <= 9; i++) await post(i % 2 ? ann : bob, chat.id, `text ${i}`);
  const first = await ann.api.GET('/chats/{chatId}/messages', { params: { path: { chatId: chat.id }, query: { count: 5 } } });
  t.same(
    first.data?.map((m) => m.text),
    ['text 9', 'text 8', 'text 7', 'text 6', 'text 5'],
  );
  // New messages arriving between pages do not shift the next page.
  await Promise.all([post(bob, chat.id, 'late 1'), post(ann, chat.id, 'late 2')]);
  const next = await ann.api.GET('/chats/{chatId}/messages', { params: { path: { chatId: chat.id }, query: { count: 5, before: first.data!.at(-1)!.id } } });
  t.same(
    next.data?.map((m) => m.text),
    ['text 4', 'text 3', 'text 2', 'text 1'],
  );
  const all = await ann.api.GET('/chats/{chatId}/messages', chatPath);
  t.equal(all.data?.length, 11, 'default count covers them all');
  t.equal((await ann.api.GET('/chats/{chatId}/messages', { params: { path: { chatId: chat.id }, query: { count: 0 } } })).response.status, 400, 'count 0');
  t.equal((await ann.api.GET('/chats/{chatId}/messages', { params: { path: { chatId: chat.id }, query: { before: 'x' as never } } })).response.status, 400, 'before not a number');

  const many = await createChat(ann, [ann]);
  for (let i = 0; i < 55; i++) await post(ann, many.id, `n${i}`);
  t.equal((await ann.api.GET('/chats/{chatId}/messages', { params: { path: { chatId: many.id } } })).data?.length, 50, 'count defaults to 50');
});

t.test('edit: author only, not deleted, editedAt set, messageUpdate', async (t) => {
  const [ann, bob] = await users(baseUrl, 2);
  const group = await createChat(ann, [bob], { isPersonal: false, title: 'Edits' });
  const mine = await post(bob, group.id, 'original');
  const path_ = { params: { path: { chatId: group.id, messageId: mine.data!.id } } };
  events.clear();
  const edited = await bob.api.PUT('/chats/{chatId}/messages/{messageId}', { ...path_, body: { text: 'edited' } });
  t.equal(edited.response.status, 200);
  t.equal(edited.data?.text, 'edited');
  t.ok(edited.data?.editedAt, 'editedAt set');
  t.equal(events.of(group.id, 'messageUpdate').length, 1);
  t.equal((await ann.api.PUT('/chats/{chatId}/messages/{messageId}', { ...path_, body: { text: 'hijack' } })).response.status, 403, "another user's message");
  t.equal((await bob.api.PUT('/chats/{chatId}/messages/{messageId}', { ...path_, body: { text: 'x'.repeat(25_001) } })).response.status, 400, 'too long');
  t.equal(
    (await bob.api.PUT('/chats/{chatId}/messages/{messageId}', { params: { path: { chatId: group.id, messageId: 9_000_000 } }, body: { text: 'x' } })).response.status,
    403,
    'unknown message (the reference answers 403)',
  );

  const hidden = await post(bob, group.id, 'draft', { isVisible: false });
  t.equal(hidden.data?.isVisible, false);
  const shown = await bob.api.PUT('/chats/{chatId}/messages/{messageId}', { params: { path: { chatId: group.id, messageId: hidden.data!.id } }, body: { isVisible: true } });
  t.equal(shown.data?.isVisible, true, 'a hidden message can be shown');
  const stays = await bob.api.PUT('/chats/{chatId}/messages/{messageId}', { params: { path: { chatId: group.id, messageId: hidden.data!.id } }, body: { isVisible: false } });
  t.equal(stays.data?.isVisible, true, 'but not hidden again');

  await ann.api.PUT('/chats/{chatId}/users/{userId}/block', { params: { path: { chatId: group.id, userId: bob.id } } });
  t.equal((await bob.api.PUT('/chats/{chatId}/messages/{messageId}', { ...path_, body: { text: 'blocked' } })).response.status, 403, 'blocked author');
  const deleted = await bob.api.DELETE('/chats/{chatId}/messages/{messageId}', path_);
  t.equal(deleted.response.status, 200, 'a blocked author may still delete');
  t.equal(deleted.data?.text, '');
  t.ok(deleted.data?.deletedAt);
  await ann.api.PUT('/chats/{chatId}/users/{userId}/unblock', { params: { path: { chatId: group.id, userId: bob.id } } });
  t.equal((await bob.api.PUT('/chats/{chatId}/messages/{messageId}', { ...path_, body: { text: 'back' } })).response.status, 400, 'editing a deleted message');
});

t.test('delete: soft, author only, replyTo cleared', async (t) => {
  const [ann, bob] = await users(baseUrl, 2);
  const chat = await createChat(ann, [bob]);
  const first = await post(ann, chat.id, 'first');
  const reply = await post(ann, chat.id, 'reply', { replyTo: first.data!.id });
  const path_ = { params: { path: { chatId: chat.id, messageId: reply.data!.id } } };
  t.equal((await bob.api.DELETE('/chats/{chatId}/messages/{messageId}', path_)).response.status, 403, "another user's message");
  events.clear();
  const deleted = await ann.api.DELETE('/chats/{chatId}/messages/{messageId}', path_);
  t.equal(deleted.response.status, 200);
  t.equal(deleted.data?.text, '');
  t.ok(deleted.data?.deletedAt);
  t.ok(deleted.data?.editedAt);
  t.equal(deleted.data?.replyTo, undefined, 'replyTo cleared');
  t.equal(events.of(chat.id, 'messageUpdate').length, 1);
  const history = await bob.api.GET('/chats/{chatId}/messages', { params: { path: { chatId: chat.id } } });
  t.equal(history.data?.find((m) => m.id === reply.data!.id)?.text, '', 'the row stays, without text');
  t.equal((await ann.api.DELETE('/chats/{chatId}/messages/{messageId}', { params: { path: { chatId: chat.id, messageId: 9_000_000 } } })).response.status, 404);
});

t.test('read marks: idempotent, messageRead only when new', async (t) => {
  const [ann, bob] = await users(baseUrl, 2);
  const chat = await createChat(ann, [bob]);
  const message = await post(ann, chat.id, 'read me');
  const path_ = { params: { path: { chatId: chat.id, messageId: message.data!.id } } };
  events.clear();
  const read = await bob.api.PUT('/chats/{chatId}/messages/{messageId}/read', path_);
  t.equal(read.response.status, 200);
  t.same(
    read.data?.readMarks?.map((m) => m.user.id),
    [bob.id],
  );
  const again = await bob.api.PUT('/chats/{chatId}/messages/{messageId}/read', path_);
  t.equal(again.data?.readMarks?.length, 1, 'one mark per user');
  t.equal(events.of(chat.id, 'messageRead').length, 1, 'published only for the new mark');
  await ann.api.PUT('/chats/{chatId}/messages/{messageId}/read', path_);
  const history = await ann.api.GET('/chats/{chatId}/messages', { params: { path: { chatId: chat.id } } });
  t.same(sorted(history.data![0].readMarks!.map((m) => m.user.id)), sorted([ann.id, bob.id]), 'history carries the marks');
  t.equal((await bob.api.PUT('/chats/{chatId}/messages/{messageId}/read', { params: { path: { chatId: chat.id, messageId: 9_000_000 } } })).response.status, 404);
});

t.test('clear chat: owner of a group, either side of a personal chat', async (t) => {
  const [ann, bob] = await users(baseUrl, 2);
  const group = await createChat(ann, [bob], { isPersonal: false, title: 'Clear' });
  const file = await upload(bob, 'kept', 'text/plain');
  await post(bob, group.id, 'one', { attachments: [{ id: file.id, fileType: 'plain', fileSize: file.size }] });
  await post(ann, group.id, 'two');
  const chatPath = { params: { path: { chatId: group.id } } };
  t.equal((await bob.api.DELETE('/chats/{chatId}/messages', chatPath)).response.status, 403, 'not the owner');
  events.clear();
  t.equal((await ann.api.DELETE('/chats/{chatId}/messages', chatPath)).response.status, 200);
  t.same((await bob.api.GET('/chats/{chatId}/messages', chatPath)).data, [], 'messages gone');
  t.ok((await bob.api.GET('/media/recents')).data?.some((m) => m.id === file.id), 'media kept');
  const cleared = events.of(group.id, 'chatCleared');
  t.equal(cleared.length, 1);
  t.same(cleared[0].event.payload, { chatId: group.id }, 'the event names the chat it cleared');
  const listed = (await ann.api.GET('/chats')).data?.find((c) => c.id === group.id);
  t.ok(listed && !listed.lastMessage, 'a cleared group stays listed (groups show from creation), without a last message');

  const personal = await createChat(ann, [bob]);
  await post(ann, personal.id, 'hi');
  t.equal((await bob.api.DELETE('/chats/{chatId}/messages', { params: { path: { chatId: personal.id } } })).response.status, 200, 'personal: either side');
});

t.test('notify: auxiliary to every participant, nothing stored', async (t) => {
  const [ann, bob, cat] = await users(baseUrl, 3);
  const group = await createChat(ann, [bob, cat], { title: 'Typing' });
  const chatPath = { params: { path: { chatId: group.id } } };
  events.clear();
  const data = Buffer.from(JSON.stringify({ deleted: true })).toString('base64');
  const sent = await bob.api.POST('/chats/{chatId}/notify', { ...chatPath, body: { name: 'typing', data } });
  t.equal(sent.response.status, 200);
  const aux = events.of(group.id, 'auxiliary');
  t.equal(aux.length, 1);
  t.same(sorted(aux[0].userIds), sorted([ann.id, bob.id, cat.id]), 'one per participant (3)');
  t.equal(aux[0].event.source, String(bob.id));
  t.same(aux[0].event.payload, { chatId: group.id, name: 'typing', data: { deleted: true } }, 'names its chat');
  t.equal(aux[0].push, false, 'webSocket realm by default');
  await bob.api.POST('/chats/{chatId}/notify', { ...chatPath, body: { name: 'call', text: 'ring', realm: 'all' } });
  t.equal(events.of(group.id, 'auxiliary')[1].push, true, 'realm all also pushes');
  t.same((await ann.api.GET('/chats/{chatId}/messages', chatPath)).data, [], 'nothing stored');
  t.equal((await bob.api.POST('/chats/{chatId}/notify', { ...chatPath, body: { name: 'x', data: 'not base64 json!' } })).response.status, 400, 'bad data');
  t.equal((await bob.api.POST('/chats/{chatId}/notify', { ...chatPath, body: { name: 'x', realm: 'smoke' as never } })).response.status, 400, 'bad realm');
  t.equal((await bob.api.POST('/chats/{chatId}/notify', { ...chatPath, body: {} as never })).response.status, 400, 'no name');
});

t.test('blocking and posting', async (t) => {
  const [ann, bob, cat] = await users(baseUrl, 3);
  const personal = await createChat(ann, [bob]);
  const pPath = { params: { path: { chatId: personal.id } } };
  await ann.api.PUT('/chats/{chatId}/block', pPath);
  t.equal((await post(ann, personal.id, 'my own blocked chat')).response.status, 200, 'the blocker still posts');
  events.clear();
  t.equal((await post(bob, personal.id, 'let me in')).response.status, 403, 'the other side of a blocked personal chat');
  t.equal((await bob.api.POST('/chats/{chatId}/notify', { ...pPath, body: { name: 'typing' } })).response.status, 403, 'nor notify');
  await ann.api.PUT('/chats/{chatId}/unblock', pPath);
  t.equal((await post(bob, personal.id, 'thanks')).response.status, 200, 'after unblock');

  const group = await createChat(ann, [bob, cat], { title: 'G' });
  await cat.api.PUT('/chats/{chatId}/block', { params: { path: { chatId: group.id } } });
  events.clear();
  await post(ann, group.id, 'to all');
  t.same(sorted(events.of(group.id, 'message')[0].userIds), sorted([ann.id, bob.id]), 'who blocked the chat gets no event');
  await ann.api.PUT('/chats/{chatId}/users/{userId}/block', { params: { path: { chatId: group.id, userId: bob.id } } });
  t.equal((await post(bob, group.id, 'blocked')).response.status, 403, 'blocked member');
  events.clear();
  await post(ann, group.id, 'without bob');
  t.same(events.of(group.id, 'message')[0].userIds, [ann.id], 'the blocked member gets no event');
});
