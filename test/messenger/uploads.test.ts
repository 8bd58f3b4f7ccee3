// Uploads and profile photos: files stream to disk, come back at /uploads and /files,
// and belong to whoever uploaded them.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { startApp } from '../helpers/app.ts';
import { pngOfSize, tinyImage } from '../helpers/images.ts';
import { registerUser, type TestUser } from '../helpers/messenger.ts';

const { baseUrl, config } = await startApp(t, { uploadMaxBytes: 64 * 1024 });
const uploadDir = path.join(config.dataDir, 'uploads');

function upload(user: TestUser, bytes: Uint8Array | string, contentType: string, fileName?: string) {
  return user.api.POST('/uploads', {
    body: bytes as never,
    bodySerializer: (body) => body as never,
    parseAs: 'text',
    headers: { 'content-type': contentType, ...(fileName ? { 'file-name': fileName } : {}) },
  });
}

t.test('upload, download and delete a file', async (t) => {
  const user = await registerUser(baseUrl);
  const { data, response } = await upload(user, 'hello, file', 'text/markdown');
  t.equal(response.status, 200);
  t.match(data, /^[0-9a-f-]{36}\.markdown$/, 'a random UUID name with the type as extension');
  for (const prefix of ['uploads', 'files']) {
    const served = await fetch(`${baseUrl}/${prefix}/${data}`);
    t.equal(served.status, 200, `served at /${prefix}`);
    t.equal(await served.text(), 'hello, file');
  }

  const named = await upload(user, tinyImage('jpeg', 'first'), 'image/jpeg', 'my-photo_1');
  t.equal(named.data, 'my-photo_1.jpg', 'File-Name is kept, image/jpeg becomes jpg');
  const replaced = await upload(user, tinyImage('jpeg', 'second'), 'jpg', 'my-photo_1');
  t.equal(replaced.response.status, 200, 'the owner may replace their file');
  t.same(new Uint8Array(await (await fetch(`${baseUrl}/uploads/my-photo_1.jpg`)).arrayBuffer()), new Uint8Array(tinyImage('jpeg', 'second')));

  const stranger = await registerUser(baseUrl);
  const stolen = await upload(stranger, tinyImage('jpeg', 'mine now'), 'jpg', 'my-photo_1');
  t.equal(stolen.response.status, 403, "another user's file name cannot be overwritten");
  t.equal((await stranger.api.DELETE('/uploads/{fileName}', { params: { path: { fileName: 'my-photo_1.jpg' } } })).response.status, 403);

  t.equal((await user.api.DELETE('/uploads/{fileName}', { params: { path: { fileName: 'my-photo_1.jpg' } } })).response.status, 200);
  t.equal((await fetch(`${baseUrl}/uploads/my-photo_1.jpg`)).status, 404, 'deleted');
});

t.test('bad uploads are refused and leave nothing behind', async (t) => {
  const user = await registerUser(baseUrl);
  const before = await readdir(uploadDir);
  for (const [what, name] of [
    ['parent directory', '../escape'],
    ['absolute path', '/etc/passwd'],
    ['dot file', '.hidden'],
  ] as const) {
    const response = await fetch(`${baseUrl}/api/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'png', 'file-name': name },
      body: 'x',
    });
    t.equal(response.status, 400, what);
    t.equal(((await response.json()) as { error: boolean }).error, true);
  }
  t.notOk(existsSync(path.join(config.dataDir, 'escape.png')), 'nothing written outside the folder');

  // A byte body: fetch adds no Content-Type of its own.
  const noType = await fetch(`${baseUrl}/api/uploads`, { method: 'POST', headers: { authorization: `Bearer ${user.token}` }, body: new Uint8Array([1]) });
  t.equal(noType.status, 400, 'no Content-Type, no file type');

  const big = await upload(user, new Uint8Array(64 * 1024 + 1), 'bin');
  t.equal(big.response.status, 413, 'over UPLOAD_MAX_BYTES');
  t.same(await readdir(uploadDir), before, 'no file, temporary or final, is left');

  const anonymous = await fetch(`${baseUrl}/api/uploads`, { method: 'POST', headers: { 'content-type': 'png' }, body: 'x' });
  t.equal(anonymous.status, 401);
});

t.test('profile photos', async (t) => {
  const user = await registerUser(baseUrl);
  const other = await registerUser(baseUrl);
  const fileName = (await upload(user, pngOfSize(100), 'image/png')).data!;
  const id = fileName.split('.')[0];
  t.equal((await user.api.GET('/users/me')).data?.info.photos, undefined, 'no photo yet');

  const added = await user.api.POST('/users/me/photos', { body: { photo: { id, fileType: 'png', fileSize: 100 } } });
  t.equal(added.response.status, 200);
  t.same(
    added.data?.photos?.map((p) => [p.id, p.fileType, p.fileSize]),
    [[id, 'png', 100]],
  );
  t.same((await user.api.GET('/users/me')).data?.info.photos?.map((p) => p.id), [id], 'my profile shows it at once');
  const shown = await other.api.GET('/users/{id}', { params: { path: { id: user.id } } });
  t.equal(shown.data?.photos?.[0].id, id, 'others see the photo');
  t.equal((await user.api.POST('/users/me/photos', { body: { photo: { id, fileType: 'png', fileSize: 100 } } })).response.status, 409, 'already a photo');

  const othersFile = (await upload(other, tinyImage('png'), 'png')).data!.split('.')[0];
  const borrowed = await user.api.POST('/users/me/photos', { body: { photo: { id: othersFile, fileType: 'png', fileSize: 10 } } });
  t.equal(borrowed.response.status, 403, "another user's upload cannot become my photo");
  const missing = await user.api.POST('/users/me/photos', {
    body: { photo: { id: '00000000-0000-4000-8000-000000000000', fileType: 'png', fileSize: 10 } },
  });
  t.equal(missing.response.status, 404, 'the file must be uploaded first');
  t.equal((await user.api.POST('/users/me/photos', { body: { photo: { id, fileType: '', fileSize: 100 } } })).response.status, 400);
  t.equal((await user.api.POST('/users/me/photos', { body: { photo: { id, fileType: 'png', fileSize: 0 } } })).response.status, 400);

  const stolen = await other.api.DELETE('/users/me/photos/{photoId}', { params: { path: { photoId: id } } });
  t.equal(stolen.response.status, 403, "another user's photo cannot be deleted");
  t.equal(
    (await user.api.DELETE('/users/me/photos/{photoId}', { params: { path: { photoId: '00000000-0000-4000-8000-000000000000' } } })).response.status,
    404,
  );
  t.equal((await user.api.DELETE('/users/me/photos/{photoId}', { params: { path: { photoId: id } } })).response.status, 200);
  t.equal((await fetch(`${baseUrl}/uploads/${fileName}`)).status, 404, 'the file is gone with the photo');
  t.equal((await user.api.GET('/users/me')).data?.info.photos, undefined);
});

t.test('deleting an account removes its files', async (t) => {
  const user = await registerUser(baseUrl);
  const fileName = (await upload(user, 'bye', 'txt')).data!;
  t.ok(existsSync(path.join(uploadDir, fileName)));
  t.equal((await user.api.DELETE('/users/me', { body: { password: user.password } })).response.status, 200);
  t.notOk(existsSync(path.join(uploadDir, fileName)));
});
