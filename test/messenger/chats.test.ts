// Chats: personal (one per pair) and group chats, members and roles, per-member flags,
// images, blocking, deletion — through the generated client, every body checked against the spec.
import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startApp } from '../helpers/app.ts';
import { createChat, post, pngBytes, recordEvents, upload, users } from './chat-fixtures.ts';

const testApp = await startApp(t);
const { baseUrl, config } = testApp;
const events = recordEvents(testApp.app);
const ids = (list: { id: number }[] | undefined) => (list ?? []).map((u) => u.id).sort((a, b) => a - b);

t.test('personal chat: one per pair, created again returns the same chat', async (t) => {
  const [ann, bob] = await users(baseUrl, 2);
  const first = await ann.api.POST('/chats', { body: { participants: [bob.id] } });
  t.equal(first.response.status, 200);
  t.equal(first.data?.isPersonal, true, 'two participants default to personal');
  t.same(ids(first.data?.allUsers), [ann.id, bob.id].sort((a, b) => a - b));
  t.equal(first.data?.owner?.id, ann.id);
  t.match(first.data?.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'ISO 8601 UTC');

  const again = await ann.api.POST('/chats', { body: { participants: [bob.id, bob.id] } });
  t.equal(again.data?.id, first.data?.id, 'same pair → same chat');
  const fromBob = await bob.api.POST('/chats', { body: { participants: [ann.id], isPersonal: true } });
  t.equal(fromBob.data?.id, first.data?.id, 'the other side gets the same chat');

  const group = await ann.api.POST('/chats', { body: { participants: [bob.id], isPersonal: false, title: 'Two of us' } });
  t.not(group.data?.id, first.data?.id, 'a group chat of the same people is a different chat');
  t.equal(group.data?.isPersonal, false);
  const groupAgain = await ann.api.POST('/chats', { body: { participants: [bob.id], isPersonal: false } });
  t.equal(groupAgain.data?.id, group.data?.id, 'the same group request returns that group chat');

  const notes = await ann.api.POST('/chats', { body: { participants: [ann.id] } });
  t.equal(notes.data?.isPersonal, true, 'a chat with only yourself is personal notes');
  t.same(ids(notes.data?.allUsers), [ann.id]);
});

t.test('personal chat created concurrently is still one chat', async (t) => {
  const [ann, bob] = await users(baseUrl, 2);
  const results = await Promise.all(
    Array.from({ length: 6 }, (_, i) => (i % 2 ? bob : ann).api.POST('/chats', { body: { participants: [i % 2 ? ann.id : bob.id] } })),
  );
  t.same(
    results.map((r) => r.response.status),
    Array(6).fill(200),
  );
  t.equal(new Set(results.map((r) => r.data?.id)).size, 1, 'every request answers the same chat');
});

t.test('create chat errors', async (t) => {
  const [ann, bob, cat] = await users(baseUrl, 3);
  const cases: [string, unknown][] = [
    ['personal with three people', { participants: [bob.id, cat.id], isPersonal: true }],
    ['no participants', { participants: [] }],
    ['missing participants', { title: 'x' }],
    ['unknown user', { participants: [bob.id, 2_000_000_000] }],
    ['not an integer', { participants: ['bob'] }],
  ];
  for (const [what, body] of cases) {
    const { response, error } = await ann.api.POST('/chats', { body: body as never });
    t.equal(response.status, 400, what);
    t.equal(error?.error, true, `${what}: envelope`);
  }
  const notJson = await fetch(`${baseUrl}/api/chats`, { method: 'POST', headers: { authorization: `Bearer ${ann.token}`, 'content-type': 'text/plain' }, body: 'x' });
  t.equal(notJson.status, 415);
  t.equal((await ann.api.GET('/chats/{chatId}', { params: { path: { chatId: 'not-a-uuid' } } })).response.status, 400, 'malformed chat id');
  t.equal(
    (await ann.api.GET('/chats/{chatId}', { params: { path: { chatId: '00000000-0000-4000-8000-000000000000' } } })).response.status,
    404,
    'unknown chat',
  );
  t.equal((await fetch(`${baseUrl}/api/chats`)).status, 401, 'no token');
});

t.test('chat list: only chats with messages, newest activity first, full adds users', async (t) => {
  const [ann, bob, cat] = await users(baseUrl, 3);
  const personal = await createChat(ann, [bob]);
  const group = await createChat(ann, [bob, cat], { title: 'Group' });
  const empty = await createChat(ann, [cat]);

  await post(bob, personal.id, 'hello ann');
  await post(cat, group.id, 'hello group');
  const list = await ann.api.GET('/chats');
  t.equal(list.response.status, 200);
  t.same(
    list.data?.map((c) => c.id),
    [group.id, personal.id],
    'newest activity first; the chat without messages is left out',
  );
  t.notOk(list.data?.some((c) => c.id === empty.id));
  t.equal(list.data?.[0].lastMessage?.text, 'hello group');
  t.equal(list.data?.[0].lastMessage?.author.id, cat.id);
  t.equal(list.data?.[0].allUsers, undefined, 'no users without full');

  const full = await ann.api.GET('/chats', { params: { query: { full: '1' } } });
  t.same(ids(full.data?.[0].allUsers), ids([ann, bob, cat]));
  t.same(ids(full.data?.[1].allUsers), ids([ann, bob]));
});

t.test('a new chat is announced to every member and a new group is listed before its first message', async (t) => {
  const [ann, bob, cat] = await users(baseUrl, 3);
  events.clear();
  const group = await createChat(ann, [bob, cat], { title: 'Fresh' });
  const published = events.of(group.id, 'chatUpdate');
  t.equal(published.length, 1, 'one chatUpdate for the new chat');
  t.same(published[0].userIds.sort((a, b) => a - b), ids([ann, bob, cat]), 'to every member, the creator included');
  t.equal((published[0].event.payload as { title: string }).title, 'Fresh');
  t.equal((published[0].event.payload as { allUsers: unknown[] }).allUsers.length, 3, 'with its members');
  t.ok((await bob.api.GET('/chats')).data?.some((chat) => chat.id === group.id), 'the empty group is in a member\'s list');
  events.clear();
  await createChat(ann, [bob, cat], { title: 'Fresh' });
  t.equal(events.of(group.id, 'chatUpdate').length, 0, 'asking for an existing chat announces nothing');
});

t.test('the chat list carries unread counts: after the newest message read or written', async (t) => {
  const [ann, bob] = await users(baseUrl, 2);
  const chat = await createChat(ann, [bob]);
  const sent = [];
  for (let i = 0; i < 5; i++) sent.push((await post(ann, chat.id, `m${i}`)).data!);
  await ann.api.DELETE('/chats/{chatId}/messages/{messageId}', { params: { path: { chatId: chat.id, messageId: sent[4].id } } });
  const unreadOf = async (user: typeof bob) => (await user.api.GET('/chats')).data?.find((c) => c.id === chat.id)?.unreadCount;
  t.equal(await unreadOf(bob), 4, 'four unread, the deleted one not counted');
  t.equal(await unreadOf(ann), 0, 'own messages are never unread');
  await bob.api.PUT('/chats/{chatId}/messages/{messageId}/read', { params: { path: { chatId: chat.id, messageId: sent[2].id } } });
  t.equal(await unreadOf(bob), 1, 'reading a message reads the ones before it');
  await post(bob, chat.id, 'reply');
  t.equal(await unreadOf(bob), 0, 'writing reads everything before');
});

t.test('get chat: members, blocked users, 403 for others', async (t) => {
  const [ann, bob, cat, eve] = await users(baseUrl, 4);
  const group = await createChat(ann, [bob, cat], { title: 'Trio' });
  t.equal((await ann.api.PUT('/chats/{chatId}/users/{userId}/block', { params: { path: { chatId: group.id, userId: cat.id } } })).response.status, 200);
  const got = await bob.api.GET('/chats/{chatId}', { params: { path: { chatId: group.id } } });
  t.equal(got.response.status, 200);
  t.same(ids(got.data?.allUsers), ids([ann, bob, cat]));
  t.same(ids(got.data?.blockedUsers), [cat.id]);
  t.equal(got.data?.title, 'Trio');
  const stranger = await eve.api.GET('/chats/{chatId}', { params: { path: { chatId: group.id } } });
  t.equal(stranger.response.status, 403, "someone else's chat");
  t.same(Object.keys(stranger.error ?? {}), ['error', 'reason']);
});

t.test('update title: one chatUpdate to every unblocked member; personal chats refuse', async (t) => {
  const [ann, bob, cat, dan] = await users(baseUrl, 4);
  const group = await createChat(ann, [bob, cat, dan], { title: 'Old' });
  await ann.api.PUT('/chats/{chatId}/users/{userId}/block', { params: { path: { chatId: group.id, userId: cat.id } } });
  await dan.api.PUT('/chats/{chatId}/block', { params: { path: { chatId: group.id } } });
  events.clear();

  const updated = await bob.api.PUT('/chats/{chatId}', { params: { path: { chatId: group.id } }, body: { title: 'Some', description: 'About' } });
  t.equal(updated.response.status, 200);
  t.equal(updated.data?.title, 'Some');
  t.equal(updated.data?.description, 'About');
  const published = events.of(group.id, 'chatUpdate');
  t.equal(published.length, 1, 'exactly one chatUpdate');
  t.same(published[0].userIds.sort((a, b) => a - b), ids([ann, bob]), 'not to the blocked member nor to who blocked the chat');
  t.equal(published[0].event.source, String(bob.id));
  t.equal((published[0].event.payload as { title: string }).title, 'Some');
  t.notOk('isMuted' in (published[0].event.payload as object), 'no per-member flags in a broadcast');

  t.equal((await cat.api.PUT('/chats/{chatId}', { params: { path: { chatId: group.id } }, body: { title: 'x' } })).response.status, 403, 'blocked user');

  const settings = await ann.api.PUT('/chats/{chatId}', {
    params: { path: { chatId: group.id } },
    body: { settings: JSON.stringify({ languages: ['en', 'pt-BR'], language: 'en', multilingual: true }) },
  });
  t.equal(settings.response.status, 200);
  for (const bad of ['not json', '[]', JSON.stringify({ languages: [] }), JSON.stringify({ language: 'English!' }), JSON.stringify({ multilingual: 'yes' })]) {
    t.equal((await ann.api.PUT('/chats/{chatId}', { params: { path: { chatId: group.id } }, body: { settings: bad } })).response.status, 400, `settings ${bad}`);
  }

  const personal = await createChat(ann, [bob]);
  t.equal((await ann.api.PUT('/chats/{chatId}', { params: { path: { chatId: personal.id } }, body: { title: 'x' } })).response.status, 400, 'personal chat');
  await ann.api.PUT('/chats/{chatId}/users/{userId}/block', { params: { path: { chatId: personal.id, userId: bob.id } } });
  t.not((await bob.api.PUT('/chats/{chatId}', { params: { path: { chatId: personal.id } }, body: { title: 'x' } })).response.status, 200, 'personal, blocked');
  const notes = await createChat(ann, [ann]);
  t.equal((await ann.api.PUT('/chats/{chatId}', { params: { path: { chatId: notes.id } }, body: { title: 'Journal' } })).data?.title, 'Journal', 'notes may have a title');
});

t.test('my settings: muted, archived, removed on device (hidden until a new message)', async (t) => {
  const [ann, bob] = await users(baseUrl, 2);
  const chat = await createChat(ann, [bob]);
  await post(bob, chat.id, 'first');
  const muted = await ann.api.PUT('/chats/{chatId}/settings', { params: { path: { chatId: chat.id } }, body: { isMuted: true, isArchived: true } });
  t.equal(muted.response.status, 200);
  t.equal(muted.data?.isMuted, true);
  t.equal(muted.data?.isArchived, true);
  const bobView = await bob.api.GET('/chats/{chatId}', { params: { path: { chatId: chat.id } } });
  t.equal(bobView.data?.isMuted, false, 'flags are per member');

  await ann.api.PUT('/chats/{chatId}/settings', { params: { path: { chatId: chat.id } }, body: { isRemovedOnDevice: true } });
  t.notOk((await ann.api.GET('/chats')).data?.some((c) => c.id === chat.id), 'removed on device → hidden');
  t.ok((await bob.api.GET('/chats')).data?.some((c) => c.id === chat.id), 'still listed for the other side');
  await post(bob, chat.id, 'are you there?');
  const back = (await ann.api.GET('/chats')).data?.find((c) => c.id === chat.id);
  t.ok(back, 'a new message brings it back');
  t.equal(back?.isArchived, true, "someone else's message does not un-archive it");
  await post(ann, chat.id, 'yes');
  t.equal((await ann.api.GET('/chats')).data?.find((c) => c.id === chat.id)?.isArchived, false, 'posting un-archives it for the author');
});

t.test('chat images: owner only, an image upload of the caller', async (t) => {
  const [ann, bob] = await users(baseUrl, 2);
  const group = await createChat(ann, [bob], { isPersonal: false, title: 'Pics' });
  const image = await upload(ann, await pngBytes(), 'image/png');
  const path_ = { params: { path: { chatId: group.id } } };

  const added = await ann.api.POST('/chats/{chatId}/images', { ...path_, body: { image: { id: image.id, fileType: 'png', fileSize: image.size } } });
  t.equal(added.response.status, 200);
  t.same(
    added.data?.images?.map((i) => i.id),
    [image.id],
  );
  t.equal(added.data?.images?.[0].fileType, 'png');
  t.same(
    (await bob.api.GET('/chats/{chatId}', path_)).data?.images?.map((i) => i.id),
    [image.id],
    'members see it',
  );
  const listed = async (full: '0' | '1') => (await bob.api.GET('/chats', { params: { query: { full } } })).data?.find((c) => c.id === path_.params.path.chatId);
  t.same((await listed('1'))?.images?.map((i) => i.id), [image.id], 'the full chat list carries it (the group photo in a list entry)');
  t.notOk((await listed('0'))?.images, 'the short list does not');

  const text = await upload(ann, 'not an image', 'text/plain');
  const notImage = await ann.api.POST('/chats/{chatId}/images', { ...path_, body: { image: { id: text.id, fileType: 'plain', fileSize: text.size } } });
  t.equal(notImage.response.status, 400, 'non-image upload');
  const bobsImage = await upload(bob, await pngBytes(), 'image/png');
  t.equal((await ann.api.POST('/chats/{chatId}/images', { ...path_, body: { image: { id: bobsImage.id, fileType: 'png', fileSize: 1 } } })).response.status, 403, "someone else's upload");
  t.equal((await bob.api.POST('/chats/{chatId}/images', { ...path_, body: { image: { id: bobsImage.id, fileType: 'png', fileSize: 1 } } })).response.status, 403, 'not the owner');
  t.equal(
    (await ann.api.POST('/chats/{chatId}/images', { ...path_, body: { image: { id: '00000000-0000-4000-8000-000000000001', fileType: 'png', fileSize: 1 } } })).response.status,
    400,
    'never uploaded',
  );
  t.equal((await ann.api.POST('/chats/{chatId}/images', { ...path_, body: { image: { id: image.id, fileType: '', fileSize: 1 } } })).response.status, 400, 'empty fileType');
  t.equal((await ann.api.POST('/chats/{chatId}/images', { ...path_, body: { image: { id: image.id, fileType: 'png', fileSize: 0 } } })).response.status, 400, 'fileSize 0');

  const personal = await createChat(ann, [bob]);
  const other = await upload(ann, await pngBytes(), 'image/png');
  t.equal(
    (await ann.api.POST('/chats/{chatId}/images', { params: { path: { chatId: personal.id } }, body: { image: { id: other.id, fileType: 'png', fileSize: 1 } } })).response.status,
    400,
    'personal chat',
  );

  const imagePath = { params: { path: { chatId: group.id, imageId: image.id } } };
  t.equal((await bob.api.DELETE('/chats/{chatId}/images/{imageId}', imagePath)).response.status, 403, 'not the owner');
  t.ok(existsSync(path.join(config.dataDir, 'uploads', image.fileName)));
  t.equal((await ann.api.DELETE('/chats/{chatId}/images/{imageId}', imagePath)).response.status, 200);
  t.notOk(existsSync(path.join(config.dataDir, 'uploads', image.fileName)), 'file removed');
  t.equal((await ann.api.DELETE('/chats/{chatId}/images/{imageId}', imagePath)).response.status, 404, 'gone');

  // Personal notes ("journal") may have images, and deleting works when the file is already gone.
  const notes = await createChat(ann, [ann]);
  const journal = await upload(ann, await pngBytes(), 'image/png');
  const notesPath = { params: { path: { chatId: notes.id } } };
  t.equal((await ann.api.POST('/chats/{chatId}/images', { ...notesPath, body: { image: { id: journal.id, fileType: 'png', fileSize: 1 } } })).response.status, 200);
  await ann.api.DELETE('/uploads/{fileName}', { params: { path: { fileName: journal.fileName } } });
  t.equal((await ann.api.DELETE('/chats/{chatId}/images/{imageId}', { params: { path: { chatId: notes.id, imageId: journal.id } } })).response.status, 200);
});

t.test('add and remove users', async (t) => {
  const [ann, bob, cat, dan, eve] = await users(baseUrl, 5);
  const group = await createChat(ann, [bob, cat], { title: 'Club' });
  const chatPath = { params: { path: { chatId: group.id } } };
  events.clear();

  const added = await bob.api.POST('/chats/{chatId}/users', { ...chatPath, body: { users: [cat.id, dan.id] } });
  t.equal(added.response.status, 200);
  t.same(ids(added.data?.addedUsers), [dan.id], 'only the new member');
  t.same(ids(added.data?.allUsers), ids([ann, bob, cat, dan]));
  const addedEvents = events.of(group.id, 'addedUsers');
  t.equal(addedEvents.length, 1, 'one addedUsers event');
  t.same(addedEvents[0].userIds.sort((a, b) => a - b), ids([ann, bob, cat, dan]), 'the new member hears it too');
  const again = await ann.api.POST('/chats', { body: { participants: [bob.id, cat.id, dan.id], isPersonal: false } });
  t.equal(again.data?.id, group.id, 'participantsKey follows the members');

  t.equal((await ann.api.POST('/chats/{chatId}/users', { ...chatPath, body: { users: [bob.id] } })).response.status, 400, 'nobody new');
  const many = await users(baseUrl, 11);
  t.equal((await ann.api.POST('/chats/{chatId}/users', { ...chatPath, body: { users: many.map((u) => u.id) } })).response.status, 400, 'more than 10');
  t.equal((await ann.api.GET('/chats/{chatId}', chatPath)).data?.allUsers?.length, 4, 'nothing added by the refused call');
  t.equal((await ann.api.POST('/chats/{chatId}/users', { ...chatPath, body: { users: many.slice(0, 10).map((u) => u.id) } })).response.status, 200, 'exactly 10');
  t.equal((await ann.api.POST('/chats/{chatId}/users', { ...chatPath, body: { users: [2_000_000_000] } })).response.status, 400, 'unknown user');
  t.equal((await eve.api.POST('/chats/{chatId}/users', { ...chatPath, body: { users: [eve.id] } })).response.status, 403, 'non-member');
  await ann.api.PUT('/chats/{chatId}/users/{userId}/block', { params: { path: { chatId: group.id, userId: bob.id } } });
  t.equal((await bob.api.POST('/chats/{chatId}/users', { ...chatPath, body: { users: [eve.id] } })).response.status, 403, 'blocked member');
  const personal = await createChat(ann, [bob]);
  t.equal((await ann.api.POST('/chats/{chatId}/users', { params: { path: { chatId: personal.id } }, body: { users: [eve.id] } })).response.status, 400, 'personal chat');

  // Removing
  await dan.api.PUT('/chats/{chatId}/block', chatPath);
  events.clear();
  t.equal((await cat.api.DELETE('/chats/{chatId}/users', { ...chatPath, body: { users: [dan.id] } })).response.status, 403, 'a plain member does not remove others');
  t.equal((await bob.api.DELETE('/chats/{chatId}/users', { ...chatPath, body: { users: [cat.id] } })).response.status, 403, 'blocked member');
  t.equal((await ann.api.DELETE('/chats/{chatId}/users', { ...chatPath, body: { users: [] } })).response.status, 400, 'empty list');
  const removed = await ann.api.DELETE('/chats/{chatId}/users', { ...chatPath, body: { users: [cat.id, dan.id] } });
  t.equal(removed.response.status, 200);
  t.same(ids(removed.data?.removedUsers), [cat.id], 'who blocked the chat is not removed');
  t.notOk(ids(removed.data?.allUsers).includes(cat.id));
  const removedEvents = events.of(group.id, 'removedUsers');
  t.equal(removedEvents.length, 1, 'one removedUsers event');
  t.ok(removedEvents[0].userIds.includes(cat.id), 'the removed member hears of it');
  t.notOk(removedEvents[0].userIds.includes(dan.id), 'who blocked the chat does not');
  t.equal((await cat.api.GET('/chats/{chatId}', chatPath)).response.status, 403, 'removed member is out');
  t.equal((await ann.api.DELETE('/chats/{chatId}/users', { params: { path: { chatId: personal.id } }, body: { users: [bob.id] } })).response.status, 400, 'personal chat');
});

t.test('block and unblock: chat and members', async (t) => {
  const [ann, bob, cat] = await users(baseUrl, 3);
  const group = await createChat(ann, [bob, cat], { title: 'Blocks' });
  const chatPath = { params: { path: { chatId: group.id } } };
  const member = (userId: number) => ({ params: { path: { chatId: group.id, userId } } });

  t.equal((await bob.api.PUT('/chats/{chatId}/block', chatPath)).response.status, 200);
  t.equal((await bob.api.GET('/chats/{chatId}', chatPath)).data?.isBlocked, true);
  t.equal((await bob.api.PUT('/chats/{chatId}/unblock', chatPath)).response.status, 200);
  t.equal((await bob.api.GET('/chats/{chatId}', chatPath)).data?.isBlocked, false);

  t.equal((await bob.api.PUT('/chats/{chatId}/users/{userId}/block', member(cat.id))).response.status, 403, 'a plain member does not block in a group');
  t.equal((await ann.api.PUT('/chats/{chatId}/users/{userId}/block', member(2_000_000_000))).response.status, 404, 'not a member');
  t.equal((await ann.api.PUT('/chats/{chatId}/users/{userId}/block', member(ann.id))).response.status, 400, 'yourself');
  t.equal((await ann.api.PUT('/chats/{chatId}/users/{userId}/block', member(cat.id))).response.status, 200);
  const blocked = await ann.api.GET('/chats/{chatId}/users/blocked', chatPath);
  t.same(ids(blocked.data), [cat.id]);
  t.equal((await cat.api.GET('/chats/{chatId}/users/blocked', chatPath)).response.status, 403, 'the blocked member cannot list');
  t.equal((await cat.api.PUT('/chats/{chatId}/users/{userId}/unblock', member(cat.id))).response.status, 403, 'nor unblock themselves');
  t.equal((await ann.api.PUT('/chats/{chatId}/users/{userId}/unblock', member(cat.id))).response.status, 200);
  t.same((await ann.api.GET('/chats/{chatId}/users/blocked', chatPath)).data, []);

  const personal = await createChat(bob, [cat]);
  t.equal(
    (await cat.api.PUT('/chats/{chatId}/users/{userId}/block', { params: { path: { chatId: personal.id, userId: bob.id } } })).response.status,
    200,
    'either side blocks in a personal chat',
  );
});

t.test('delete chat: owner of a group, either side of a personal chat', async (t) => {
  const [ann, bob, cat] = await users(baseUrl, 3);
  const group = await createChat(ann, [bob, cat], { title: 'Doomed' });
  const chatPath = { params: { path: { chatId: group.id } } };
  const attachment = await upload(bob, 'attached bytes', 'text/plain');
  await post(bob, group.id, 'with a file', { attachments: [{ id: attachment.id, fileType: 'plain', fileSize: attachment.size }] });
  t.equal((await bob.api.DELETE('/chats/{chatId}', chatPath)).response.status, 403, 'not the owner');
  events.clear();
  t.equal((await ann.api.DELETE('/chats/{chatId}', chatPath)).response.status, 200);
  t.notOk((await ann.api.GET('/chats')).data?.some((c) => c.id === group.id), 'gone from the list');
  t.same((await ann.api.GET('/chats/{chatId}/messages', chatPath)).data, [], 'messages deleted');
  t.notOk(existsSync(path.join(config.dataDir, 'uploads', attachment.fileName)), 'attachments deleted with their files');
  const deleted = events.of(group.id, 'chatDeleted');
  t.equal(deleted.length, 1);
  t.same(deleted[0].userIds.sort((a, b) => a - b), ids([ann, bob, cat]));

  const strangerChat = await createChat(bob, [cat]);
  t.equal((await ann.api.DELETE('/chats/{chatId}', { params: { path: { chatId: strangerChat.id } } })).response.status, 404, 'non-member: 404');

  const personal = await createChat(ann, [bob]);
  await post(ann, personal.id, 'hi');
  await ann.api.PUT('/chats/{chatId}/users/{userId}/block', { params: { path: { chatId: personal.id, userId: bob.id } } });
  t.equal((await bob.api.DELETE('/chats/{chatId}', { params: { path: { chatId: personal.id } } })).response.status, 200, 'personal: either side, even blocked');
});

t.test('exit chat', async (t) => {
  const [ann, bob, cat] = await users(baseUrl, 3);
  const group = await createChat(ann, [bob, cat], { title: 'Leaving' });
  const chatPath = { params: { path: { chatId: group.id } } };
  t.equal((await bob.api.DELETE('/chats/{chatId}/me', chatPath)).response.status, 200);
  t.equal((await bob.api.GET('/chats/{chatId}', chatPath)).response.status, 403, 'no longer a member');
  t.equal((await bob.api.DELETE('/chats/{chatId}/me', chatPath)).response.status, 403, 'twice');
  t.equal((await ann.api.DELETE('/chats/{chatId}/me', chatPath)).response.status, 200, 'the owner may leave');
  const after = await cat.api.GET('/chats/{chatId}', chatPath);
  t.equal(after.data?.owner?.id, cat.id, 'ownership passes to the remaining member');
  t.equal((await cat.api.DELETE('/chats/{chatId}', chatPath)).response.status, 200, 'the new owner can delete');

  const personal = await createChat(ann, [bob]);
  t.equal((await ann.api.DELETE('/chats/{chatId}/me', { params: { path: { chatId: personal.id } } })).response.status, 400, 'personal chat');
});

t.test('deleting an account keeps chats working for the others', async (t) => {
  const [ann, bob, cat] = await users(baseUrl, 3);
  const group = await createChat(ann, [bob, cat], { title: 'Survivors' });
  const personal = await createChat(ann, [bob]);
  const file = await upload(ann, 'bytes', 'text/plain');
  const first = await post(ann, group.id, 'from ann', { attachments: [{ id: file.id, fileType: 'plain', fileSize: file.size }] });
  await post(bob, group.id, 'reply', { replyTo: first.data!.id });
  await post(ann, personal.id, 'bye');
  await bob.api.PUT('/chats/{chatId}/messages/{messageId}/read', { params: { path: { chatId: group.id, messageId: first.data!.id } } });

  t.equal((await ann.api.DELETE('/users/me', { body: { password: ann.password } })).response.status, 200, 'account deleted with chats and messages present');
  const history = await bob.api.GET('/chats/{chatId}/messages', { params: { path: { chatId: group.id } } });
  t.equal(history.response.status, 200);
  t.same(
    history.data?.map((m) => m.text),
    ['reply'],
  );
  const chat = await bob.api.GET('/chats/{chatId}', { params: { path: { chatId: group.id } } });
  t.same(ids(chat.data?.allUsers), ids([bob, cat]));
  t.equal(chat.data?.owner, undefined, 'no owner any more');
  t.equal((await bob.api.GET('/chats')).response.status, 200);
});
