// Uploads never run in the app's origin, cannot be raced and cannot delete others' files:
// /uploads and /files serve only passive types inline (anything else as a download), every
// answer carries nosniff and a sandbox CSP, a declared image must be one, two users racing
// for a new name get one winner whose bytes are stored, and previews never share names
// with uploads.
import { existsSync } from 'node:fs';
import { readdir, rename } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { startApp } from '../helpers/app.ts';
import { tinyImage } from '../helpers/images.ts';
import { registerUser, type TestUser } from '../helpers/messenger.ts';
import { rawRequest } from '../helpers/raw-http.ts';

const { app, baseUrl, config } = await startApp(t);
const alice = await registerUser(baseUrl);
const bob = await registerUser(baseUrl);
const uploadDir = path.join(config.dataDir, 'uploads');
const SANDBOX = "sandbox; default-src 'none'";

const upload = (user: TestUser, contentType: string, body: string | Buffer, fileName?: string) =>
  rawRequest(baseUrl, {
    method: 'POST',
    path: '/api/uploads',
    headers: { authorization: `Bearer ${user.token}`, 'content-type': contentType, ...(fileName ? { 'file-name': fileName } : {}) },
    body,
  });

const get = async (url: string, headers: Record<string, string> = {}) => {
  const response = await fetch(`${baseUrl}${url}`, { headers });
  return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
};

function sandboxed(t: { equal(found: unknown, wanted: unknown, message: string): unknown }, headers: Headers, what: string) {
  t.equal(headers.get('x-content-type-options'), 'nosniff', `${what}: nosniff`);
  t.equal(headers.get('content-security-policy'), SANDBOX, `${what}: sandbox CSP (not the app's)`);
}

const rawHeaders = (headers: Record<string, string | string[] | undefined>) =>
  new Headers(Object.entries(headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));

const HTML = '<!doctype html><script>fetch("/api/users/me",{headers:{authorization:localStorage.token}})</script>';
const SVG = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>';

t.test('active content is served as a sandboxed download under /uploads and /files', async (t) => {
  for (const [contentType, body, extension] of [
    ['text/html', HTML, 'html'],
    ['image/svg+xml', SVG, 'svg'],
    ['application/xml', '<?xml version="1.0"?><x/>', 'xml'],
    ['application/javascript', 'alert(1)', 'javascript'],
    ['application/zzz', 'who knows', 'zzz'],
  ] as const) {
    const stored = await upload(alice, contentType, body);
    t.equal(stored.status, 200, `${contentType} is stored`);
    t.equal(path.extname(stored.text), `.${extension}`);
    for (const prefix of ['/uploads/', '/files/']) {
      const served = await get(`${prefix}${stored.text}`);
      const what = `${contentType} at ${prefix}`;
      t.equal(served.status, 200, what);
      t.equal(served.headers.get('content-type'), 'application/octet-stream', `${what}: octet-stream`);
      t.equal(served.headers.get('content-disposition'), `attachment; filename="${stored.text}"`, `${what}: attachment`);
      sandboxed(t, served.headers, what);
      t.equal(served.bytes.toString(), body, `${what}: the bytes as uploaded`);
    }
  }
});

t.test('passive types are served inline with their own type, still sandboxed', async (t) => {
  for (const [contentType, body, served] of [
    ['image/png', tinyImage('png'), 'image/png'],
    ['image/jpeg', tinyImage('jpeg'), 'image/jpeg'],
    ['image/gif', tinyImage('gif'), 'image/gif'],
    ['image/webp', tinyImage('webp'), 'image/webp'],
    ['audio/mpeg', Buffer.from('ID3 not really'), 'audio/mpeg'],
    ['video/mp4', Buffer.from('mp4 bytes'), 'video/mp4'],
    ['application/pdf', Buffer.from('%PDF-1.4'), 'application/pdf'],
  ] as const) {
    const stored = await upload(alice, contentType, body);
    t.equal(stored.status, 200, `${contentType} is stored`);
    for (const prefix of ['/uploads/', '/files/']) {
      const response = await get(`${prefix}${stored.text}`);
      t.equal(response.status, 200);
      t.equal(response.headers.get('content-type'), served, `${contentType} at ${prefix}: inline as ${served}`);
      t.notOk(response.headers.get('content-disposition'), 'not a download');
      sandboxed(t, response.headers, `${contentType} at ${prefix}`);
      t.same(response.bytes, body);
    }
  }
});

t.test('range, cached, missing and hostile requests keep the sandbox headers', async (t) => {
  const stored = await upload(alice, 'text/html', HTML);
  const url = `/uploads/${stored.text}`;
  const range = await get(url, { range: 'bytes=0-8' });
  t.equal(range.status, 206, 'ranges still work');
  t.equal(range.bytes.toString(), HTML.slice(0, 9));
  t.equal(range.headers.get('content-type'), 'application/octet-stream');
  sandboxed(t, range.headers, 'a 206');
  const unsatisfiable = await get(url, { range: 'bytes=99999-' });
  t.equal(unsatisfiable.status, 416, 'a range past the end is refused');
  sandboxed(t, unsatisfiable.headers, 'a 416');

  const first = await get(url);
  const etag = first.headers.get('etag');
  t.ok(etag, 'an ETag');
  t.ok(first.headers.get('last-modified'), 'a Last-Modified');
  // Raw requests from here: fetch would add no-cache to a conditional request and normalise paths.
  const revalidated = await rawRequest(baseUrl, { method: 'GET', path: url, headers: { 'if-none-match': etag! } });
  t.equal(revalidated.status, 304, 'a cached copy is revalidated');
  sandboxed(t, rawHeaders(revalidated.headers), 'a 304');

  for (const missing of ['/uploads/no-such-file.png', '/files/no-such-file.html', '/uploads/a/b.png', '/uploads/', '/files/.hidden.part', '/uploads/..%2f..%2fetc%2fpasswd', '/files/%2e%2e/config.json', '/uploads/../package.json']) {
    const response = await rawRequest(baseUrl, { method: 'GET', path: missing });
    t.ok(response.status === 404 || response.status === 403, `${missing} is not served (${response.status})`);
    t.notOk(response.text.includes('"name"'), 'no file from elsewhere');
    sandboxed(t, rawHeaders(response.headers), missing);
  }
  const head = await fetch(`${baseUrl}${url}`, { method: 'HEAD' });
  t.equal(head.status, 200, 'HEAD works');
  t.equal(head.headers.get('content-disposition'), `attachment; filename="${stored.text}"`);
  sandboxed(t, head.headers, 'HEAD');
});

t.test('a declared image must be that image', async (t) => {
  const before = await readdir(uploadDir);
  for (const [contentType, body] of [
    ['image/png', HTML],
    ['png', tinyImage('jpeg')],
    ['image/jpeg', '<html>'],
    ['image/gif', tinyImage('png')],
    ['image/webp', 'RIFF\u0024\u0000\u0000\u0000WAVEfmt '],
    ['image/avif', tinyImage('png')],
    ['image/png', ''],
  ] as const) {
    const response = await upload(alice, contentType, body, 'disguised');
    t.equal(response.status, 400, `${contentType} with other bytes is refused`);
    t.equal((response.json as { error?: boolean })?.error, true, 'in the messenger envelope');
  }
  t.same(await readdir(uploadDir), before, 'nothing stays on disk');
  t.equal((await get('/uploads/disguised.png')).status, 404, 'nothing is served');
  const own = await upload(bob, 'image/png', tinyImage('png', 'bob'), 'disguised');
  t.equal(own.status, 200, 'and nobody owns the name: another user may take it');
});

t.test('two users racing for a new name: one wins, and the stored bytes are the winner’s', async (t) => {
  const names = Array.from({ length: 12 }, (_, i) => `race-${i}-${Date.now().toString(36)}`);
  const results = await Promise.all(
    names.map((name) => Promise.all([upload(alice, 'image/png', tinyImage('png', `alice ${name}`), name), upload(bob, 'image/png', tinyImage('png', `bob ${name}`), name)])),
  );
  for (const [i, [byAlice, byBob]] of results.entries()) {
    const statuses = [byAlice.status, byBob.status].sort();
    t.same(statuses, [200, 403], `${names[i]}: one 200 and one 403 (${byAlice.status}/${byBob.status})`);
    const winner = byAlice.status === 200 ? 'alice' : 'bob';
    const served = await get(`/uploads/${names[i]}.png`);
    t.same(served.bytes, tinyImage('png', `${winner} ${names[i]}`), `${names[i]}: the bytes are the winner's (${winner})`);
  }
  t.notOk((await readdir(uploadDir)).some((f) => f.endsWith('.part')), 'no temporary file is left');
});

t.test("deleting my upload never deletes another user's file", async (t) => {
  const bobs = await upload(bob, 'image/png', tinyImage('png', 'bob preview-named'), 'foo-preview');
  t.equal(bobs.status, 200, 'bob may name his file foo-preview');
  const alices = await upload(alice, 'image/png', tinyImage('png', 'alice foo'), 'foo');
  t.equal(alices.status, 200);
  await app.kernel.previews.idle();
  t.equal((await get('/uploads/foo-preview.jpeg')).status, 200, "alice's preview is served at its usual address");
  t.same((await get('/uploads/foo-preview.png')).bytes, tinyImage('png', 'bob preview-named'), "bob's file is his own");

  const removal = await rawRequest(baseUrl, { method: 'DELETE', path: '/api/uploads/foo.png', headers: { authorization: `Bearer ${alice.token}` } });
  t.equal(removal.status, 200, 'alice deletes foo');
  t.equal((await get('/uploads/foo.png')).status, 404, 'her file is gone');
  t.equal((await get('/uploads/foo-preview.jpeg')).status, 404, 'and her preview');
  const still = await get('/uploads/foo-preview.png');
  t.equal(still.status, 200, "bob's foo-preview is still served");
  t.same(still.bytes, tinyImage('png', 'bob preview-named'), 'with his bytes');
  t.ok(existsSync(path.join(uploadDir, 'foo-preview.png')), 'and on disk');
});

t.test("deleting my photo never deletes another user's upload that took its name", async (t) => {
  const auth = { authorization: `Bearer ${alice.token}` };
  const stored = await upload(alice, 'image/png', tinyImage('png', 'alice photo'));
  t.equal(stored.status, 200);
  const id = stored.text.replace(/\.png$/, '');
  const photo = { id, fileType: 'png', fileSize: tinyImage('png', 'alice photo').length, previewWidth: 10, previewHeight: 10 };
  const made = await rawRequest(baseUrl, { method: 'POST', path: '/api/users/me/photos', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ photo }) });
  t.equal(made.status, 200, 'alice makes it her photo');
  // Alice deletes the upload behind her photo; the name is free, and Bob takes it.
  t.equal((await rawRequest(baseUrl, { method: 'DELETE', path: `/api/uploads/${id}.png`, headers: auth })).status, 200);
  t.equal((await upload(bob, 'image/png', tinyImage('png', 'bob portrait'), id)).status, 200, 'bob uploads the freed name');
  t.equal((await rawRequest(baseUrl, { method: 'DELETE', path: `/api/users/me/photos/${id}`, headers: auth })).status, 200, 'alice deletes her photo');
  const served = await get(`/uploads/${id}.png`);
  t.equal(served.status, 200, "bob's upload is still served");
  t.same(served.bytes, tinyImage('png', 'bob portrait'), 'with his bytes');
  t.equal((await upload(bob, 'image/png', tinyImage('png', 'bob again'), id)).status, 200, 'and the name is still his');
});

t.test('a preview made before previews had their own folder is still served, and goes with its upload', async (t) => {
  t.equal((await upload(alice, 'image/png', tinyImage('png'), 'older')).status, 200);
  await app.kernel.previews.idle();
  // The layout of a data directory from before: `<name>-preview.jpeg` beside the uploads.
  await rename(path.join(uploadDir, 'previews', 'older.jpeg'), path.join(uploadDir, 'older-preview.jpeg'));
  const served = await get('/uploads/older-preview.jpeg');
  t.equal(served.status, 200, 'served at its usual address');
  t.equal(served.headers.get('content-type'), 'image/jpeg');
  sandboxed(t, served.headers, 'an older preview');
  t.equal((await rawRequest(baseUrl, { method: 'DELETE', path: '/api/uploads/older.png', headers: { authorization: `Bearer ${alice.token}` } })).status, 200);
  t.notOk(existsSync(path.join(uploadDir, 'older-preview.jpeg')), 'deleted with its upload');
});
