// Files: hostile names, oversized and streamed bodies, unusable types are refused; nothing
// is written outside the upload folder and no partial file stays behind; nobody overwrites
// or adopts another user's upload.
import { readdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { startApp } from '../helpers/app.ts';
import { tinyImage } from '../helpers/images.ts';
import { registerUser } from '../helpers/messenger.ts';
import { rawRequest } from '../helpers/raw-http.ts';

const MAX = 4096;
const { baseUrl, config } = await startApp(t, { uploadMaxBytes: MAX });
const owner = await registerUser(baseUrl);
const other = await registerUser(baseUrl);

async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

const upload = (token: string, headers: Record<string, string | number>, body: string | Buffer | Readable) =>
  rawRequest(baseUrl, { method: 'POST', path: '/api/uploads', headers: { authorization: `Bearer ${token}`, ...headers }, body });

/** A request with bytes Node's client refuses to send (a NUL in a header). */
function rawSocketRequest(lines: string[], body: string): Promise<string> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname, () => socket.end(`${lines.join('\r\n')}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`));
    let text = '';
    socket.on('data', (c) => (text += c.toString('latin1')));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

t.test('hostile names, sizes and types are refused and leave nothing behind', async (t) => {
  const parent = path.dirname(config.dataDir);
  const outsideBefore = (await readdir(parent)).filter((n) => !n.startsWith('parley-test-')).sort();
  const before = await listTree(config.dataDir);

  for (const name of ['../escape', '../../etc/passwd', '/etc/passwd', '..', '.hidden', 'a/b', 'a\\b', 'name.png', 'x'.repeat(101), '%2e%2e%2fescape', 'ünïcode']) {
    const response = await upload(owner.token, { 'content-type': 'image/png', 'file-name': encodeURI(name) === name ? name : encodeURI(name) }, 'bytes');
    t.equal(response.status, 400, `File-Name ${JSON.stringify(name)} refused`);
    t.equal((response.json as { error?: boolean })?.error, true, 'in the envelope');
  }
  const nul = await rawSocketRequest(
    ['POST /api/uploads HTTP/1.1', `Host: ${new URL(baseUrl).host}`, `Authorization: Bearer ${owner.token}`, 'Content-Type: image/png', 'File-Name: evil\u0000name'],
    'bytes',
  );
  t.match(nul, /^HTTP\/1\.1 4\d\d/, 'a NUL byte in File-Name is refused');

  for (const type of ['', 'image/../../x', 'image/' + 'x'.repeat(40), 'application/x-evil; name=../x']) {
    const response = await upload(owner.token, type ? { 'content-type': type } : {}, 'bytes');
    t.ok(response.status === 400 || response.status === 415, `Content-Type ${JSON.stringify(type)} refused (${response.status})`);
    t.equal((response.json as { error?: boolean })?.error, true, 'in the envelope');
  }

  const declared = await upload(owner.token, { 'content-type': 'image/png', 'content-length': MAX + 1 }, Buffer.alloc(MAX + 1));
  t.equal(declared.status, 413, 'Content-Length over the limit');
  t.equal((declared.json as { error?: boolean })?.error, true, 'in the envelope');

  // A chunked body without a length: the limit is found while streaming.
  let sent = 0;
  const stream = new Readable({
    read() {
      if (sent >= MAX * 4) return this.push(null);
      sent += 1024;
      this.push(Buffer.alloc(1024, 7));
    },
  });
  const streamed = await upload(owner.token, { 'content-type': 'image/png', 'transfer-encoding': 'chunked' }, stream).catch((error: Error) => ({ status: 0, json: undefined, text: error.message }));
  t.ok(streamed.status === 413 || streamed.status === 0, `a streamed body over the limit is cut off (${streamed.status})`);
  if (streamed.status === 413) t.equal((streamed.json as { error?: boolean })?.error, true, 'in the envelope');

  // The server discards the partial file after answering; give it a moment, then compare.
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.same(await listTree(config.dataDir), before, 'no file written or left behind in the data directory');
  t.same((await readdir(parent)).filter((n) => !n.startsWith('parley-test-')).sort(), outsideBefore, 'nothing new next to it');
  t.notOk((await listTree(config.dataDir)).some((f) => f.endsWith('.part')), 'no partial upload');
});

t.test('a file name belongs to its first uploader', async (t) => {
  const first = await upload(owner.token, { 'content-type': 'image/png', 'file-name': 'sharedname' }, tinyImage('png', 'owner bytes'));
  t.equal(first.status, 200);
  t.equal(first.text, 'sharedname.png');
  const theft = await upload(other.token, { 'content-type': 'image/png', 'file-name': 'sharedname' }, tinyImage('png', 'thief bytes'));
  t.equal(theft.status, 403, "another user's name cannot be overwritten");
  const otherType = await upload(other.token, { 'content-type': 'image/jpeg', 'file-name': 'sharedname' }, tinyImage('jpeg', 'thief bytes'));
  t.equal(otherType.status, 403, 'not even with another type');
  t.ok((await rawRequest(baseUrl, { method: 'GET', path: '/uploads/sharedname.png' })).text.endsWith('owner bytes'), 'the bytes are the owner’s');
  t.notOk((await listTree(config.dataDir)).some((f) => f.includes('sharedname.jpg')), 'no file of the other type either');
  const removal = await rawRequest(baseUrl, { method: 'DELETE', path: '/api/uploads/sharedname.png', headers: { authorization: `Bearer ${other.token}` } });
  t.equal(removal.status, 403, "another user's file cannot be deleted");

  const replaced = await upload(owner.token, { 'content-type': 'image/png', 'file-name': 'sharedname' }, tinyImage('png', 'new owner bytes'));
  t.equal(replaced.status, 200, 'the owner may replace it');
  t.ok((await rawRequest(baseUrl, { method: 'GET', path: '/uploads/sharedname.png' })).text.endsWith('new owner bytes'), 'the new bytes are served');
});

t.test("someone else's upload cannot become my photo", async (t) => {
  const file = await upload(owner.token, { 'content-type': 'image/png' }, tinyImage('png'));
  t.equal(file.status, 200);
  const id = file.text.replace(/\.png$/, '');
  const photo = { id, fileType: 'png', fileSize: tinyImage('png').length, previewWidth: 10, previewHeight: 10 };
  const adopt = await rawRequest(baseUrl, {
    method: 'POST',
    path: '/api/users/me/photos',
    headers: { authorization: `Bearer ${other.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ photo }),
  });
  t.equal(adopt.status, 403, 'refused');
  t.notOk(adopt.text.includes(id) && adopt.status === 200, 'not attached');
  const own = await rawRequest(baseUrl, {
    method: 'POST',
    path: '/api/users/me/photos',
    headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ photo }),
  });
  t.equal(own.status, 200, 'the uploader may use it');
});
