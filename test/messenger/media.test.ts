// Media: the attachments a user posted, newest first and paged; deleting one's own.
import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startApp } from '../helpers/app.ts';
import { createChat, post, upload, users } from './chat-fixtures.ts';

const { baseUrl, config } = await startApp(t);
const onDisk = (fileName: string) => existsSync(path.join(config.dataDir, 'uploads', fileName));

t.test('recents: my attachments, newest first, offset/limit', async (t) => {
  const [ann, bob] = await users(baseUrl, 2);
  const chat = await createChat(ann, [bob]);
  const files: Awaited<ReturnType<typeof upload>>[] = [];
  for (let i = 0; i < 5; i++) {
    const file = await upload(ann, `attachment ${i}`, 'text/plain');
    await post(ann, chat.id, `file ${i}`, { attachments: [{ id: file.id, fileType: 'plain', fileSize: file.size }] });
    files.push(file);
  }
  const bobsFile = await upload(bob, 'bob', 'text/plain');
  await post(bob, chat.id, 'bob file', { attachments: [{ id: bobsFile.id, fileType: 'plain', fileSize: bobsFile.size }] });

  const recents = await ann.api.GET('/media/recents');
  t.equal(recents.response.status, 200);
  t.same(
    recents.data?.map((m) => m.id),
    files.map((f) => f.id).reverse(),
    "newest first, only the caller's",
  );
  t.equal(recents.data?.[0].fileType, 'plain');
  t.equal(recents.data?.[0].fileSize, files[4].size);
  const page1 = await ann.api.GET('/media/recents', { params: { query: { offset: 0, limit: 3 } } });
  const page2 = await ann.api.GET('/media/recents', { params: { query: { offset: 3, limit: 3 } } });
  t.equal(page1.data?.length, 3);
  t.equal(page2.data?.length, 2);
  t.same([...page1.data!, ...page2.data!].map((m) => m.id), recents.data?.map((m) => m.id), 'pages 3 + 2');
  t.equal((await ann.api.GET('/media/recents', { params: { query: { limit: 0 } } })).response.status, 400, 'limit 0');
});

t.test('delete my media: files gone, recents empty; not someone else’s', async (t) => {
  const [ann, bob] = await users(baseUrl, 2);
  const chat = await createChat(ann, [bob]);
  const file = await upload(ann, 'to delete', 'text/plain');
  await post(ann, chat.id, 'x', { attachments: [{ id: file.id, fileType: 'plain', fileSize: file.size }] });
  t.ok(onDisk(file.fileName));
  const mediaPath = { params: { path: { mediaId: file.id } } };
  t.equal((await bob.api.DELETE('/media/{mediaId}', mediaPath)).response.status, 403, "someone else's");
  t.ok(onDisk(file.fileName), 'still there');
  t.equal((await ann.api.DELETE('/media/{mediaId}', mediaPath)).response.status, 200);
  t.notOk(onDisk(file.fileName), 'file removed');
  t.same((await ann.api.GET('/media/recents')).data, [], 'recents empty');
  const history = await bob.api.GET('/chats/{chatId}/messages', { params: { path: { chatId: chat.id } } });
  t.equal(history.data?.[0].attachments, undefined, 'the message no longer lists it');
  t.equal((await ann.api.DELETE('/media/{mediaId}', mediaPath)).response.status, 403, 'already gone');
  t.equal((await ann.api.DELETE('/media/{mediaId}', { params: { path: { mediaId: 'nope' } } })).response.status, 400, 'malformed id');
});
