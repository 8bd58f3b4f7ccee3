// Answers are compressed (brotli or gzip) when the client asks: JSON from the API surfaces,
// the web client's assets from their precompressed files; tiny answers and media are not.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import t from 'tap';
import { WebSocket } from 'ws';
import { buildWeb, webDist } from '../../scripts/build-web.ts';
import { startApp } from '../helpers/app.ts';
import { pngOfSize } from '../helpers/images.ts';
import { registerUser } from '../helpers/messenger.ts';

// The client is built (with its .br/.gz files) before the app lists its files.
await buildWeb({ quiet: true });
const { app, baseUrl } = await startApp(t);

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The bytes as they came over the wire, not decoded. */
  body: Buffer;
}

/** A GET whose body is not decoded (fetch would inflate it silently). */
function rawGet(urlPath: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    http
      .get(`${baseUrl}${urlPath}`, { headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
        response.on('error', reject);
      })
      .on('error', reject);
  });
}

const decode = { br: brotliDecompressSync, gzip: gunzipSync };

t.test('JSON answers of the API are compressed when asked, and only then', async (t) => {
  const users = [];
  for (let i = 0; i < 12; i++) users.push(await registerUser(baseUrl, { name: `Compressible Person ${String.fromCharCode(65 + i)}` }));
  const search = '/api/users?s=compressible';
  const plain = await rawGet(search);
  t.equal(plain.status, 200);
  t.notOk(plain.headers['content-encoding'], 'no Accept-Encoding: sent as is');
  const expected = JSON.parse(plain.body.toString('utf8')) as unknown[];
  t.equal(expected.length, 12);
  t.ok(plain.body.length > 1024, 'big enough to be worth compressing');
  for (const encoding of ['br', 'gzip'] as const) {
    const response = await rawGet(search, { 'accept-encoding': encoding });
    t.equal(response.status, 200);
    t.equal(response.headers['content-encoding'], encoding, `${encoding} when asked`);
    t.match(response.headers.vary, /accept-encoding/i, 'caches keep the encodings apart');
    t.match(response.headers['content-type'], /^application\/json/);
    t.ok(response.body.length < plain.body.length, 'smaller on the wire');
    t.same(JSON.parse(decode[encoding](response.body).toString('utf8')), expected, 'the same JSON once decoded');
  }
  const preferred = await rawGet(search, { 'accept-encoding': 'gzip, deflate, br' });
  t.equal(preferred.headers['content-encoding'], 'br', 'brotli preferred when both are accepted');
  const identity = await rawGet(search, { 'accept-encoding': 'identity' });
  t.notOk(identity.headers['content-encoding'], 'identity: sent as is');
});

t.test('tiny answers stay uncompressed', async (t) => {
  const health = await rawGet('/healthz', { 'accept-encoding': 'br, gzip' });
  t.equal(health.status, 200);
  t.notOk(health.headers['content-encoding'], 'under the 1 KiB threshold');
  t.same(JSON.parse(health.body.toString('utf8')), { status: 'ok' });
});

t.test("the web client's JavaScript is served from its precompressed files", async (t) => {
  const index = (await rawGet('/')).body.toString('utf8');
  const script = index.match(/src="(\/assets\/[^"]+\.js)"/)?.[1];
  t.ok(script, 'index.html names its script');
  const onDisk = await readFile(path.join(webDist, script!));
  for (const encoding of ['br', 'gzip'] as const) {
    const extension = encoding === 'br' ? 'br' : 'gz';
    const response = await rawGet(script!, { 'accept-encoding': encoding });
    t.equal(response.status, 200);
    t.equal(response.headers['content-encoding'], encoding);
    t.match(response.headers['content-type'], /^(text|application)\/javascript/, "the script's own type, not the archive's");
    t.match(response.headers.vary, /accept-encoding/i);
    t.same(response.body, await readFile(path.join(webDist, `${script}.${extension}`)), `the ${extension} file built beside it`);
    t.same(decode[encoding](response.body), onDisk, 'which decodes to the script');
  }
  const plain = await rawGet(script!);
  t.notOk(plain.headers['content-encoding']);
  t.same(plain.body, onDisk, 'no Accept-Encoding: the script itself');
  t.equal((await rawGet(`${script}.br`)).status, 404, 'the .br file has no URL of its own');
});

t.test('uploads are sent as stored, never compressed again', async (t) => {
  const user = await registerUser(baseUrl);
  const upload = async (bytes: Buffer, type: string) => {
    const response = await fetch(`${baseUrl}/api/uploads`, { method: 'POST', headers: { authorization: `Bearer ${user.token}`, 'content-type': type }, body: bytes });
    t.equal(response.status, 200);
    return response.text();
  };
  const image = pngOfSize(8 * 1024);
  // A download (application/octet-stream) whose bytes would compress well: still sent as is.
  const document = Buffer.from('a very compressible line of text\n'.repeat(200));
  for (const [bytes, type] of [
    [image, 'image/png'],
    [document, 'text/markdown'],
  ] as const) {
    const name = await upload(bytes, type);
    const response = await rawGet(`/uploads/${name}`, { 'accept-encoding': 'br, gzip' });
    t.equal(response.status, 200);
    t.notOk(response.headers['content-encoding'], `${type}: no content-encoding`);
    t.same(response.body, bytes, `${type}: the stored bytes`);
  }
});

t.test('the realtime WebSocket opens with compression in place', async (t) => {
  const user = await registerUser(baseUrl);
  const socket = new WebSocket(`${baseUrl.replace('http', 'ws')}/ws/${user.sessionId}`, { headers: { authorization: `Bearer ${user.token}`, 'accept-encoding': 'br, gzip' } });
  t.teardown(() => socket.terminate());
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const frame = new Promise<Buffer>((resolve) => socket.once('message', (data) => resolve(data as Buffer)));
  await app.kernel.realtime.publish({ userIds: [user.id], event: { event: 'auxiliary', source: 'system', payload: { text: 'x'.repeat(2000) } } });
  t.same(JSON.parse((await frame).toString('utf8')).payload, { text: 'x'.repeat(2000) }, 'frames arrive as JSON');
});
