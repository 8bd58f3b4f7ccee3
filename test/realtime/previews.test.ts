// Image previews: an uploaded image gets `<name>-preview.jpeg` (longest side ≤ 350 px)
// shortly after the upload answers.
import sharp from 'sharp';
import t from 'tap';
import { startApp } from '../helpers/app.ts';
import { registerUser, type TestUser } from '../helpers/messenger.ts';

const { app, baseUrl } = await startApp(t);
const user = await registerUser(baseUrl);

function upload(owner: TestUser, bytes: Uint8Array | string, contentType: string) {
  return owner.api.POST('/uploads', {
    body: bytes as never,
    bodySerializer: (body) => body as never,
    parseAs: 'text',
    headers: { 'content-type': contentType },
  });
}

const image = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 4, background: { r: 200, g: 30, b: 90, alpha: 0.5 } } });

/** Polls the preview URL as a client would until it is served. */
async function preview(name: string): Promise<Buffer> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const response = await fetch(`${baseUrl}/uploads/${name}-preview.jpeg`);
    if (response.status === 200) return Buffer.from(await response.arrayBuffer());
    if (Date.now() > deadline) throw new Error(`no preview for ${name}: ${response.status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

t.test('a PNG upload gets a JPEG preview at most 350 px on its longest side', async (t) => {
  const png = await image(1200, 800).png().toBuffer();
  const { data, response } = await upload(user, png, 'image/png');
  t.equal(response.status, 200);
  t.match(data, /^[0-9a-f-]{36}\.png$/);
  const name = data!.replace(/\.png$/, '');
  const meta = await sharp(await preview(name)).metadata();
  t.equal(meta.format, 'jpeg');
  t.same([meta.width, meta.height], [350, 233], 'scaled down, aspect ratio kept');

  const original = await fetch(`${baseUrl}/uploads/${data}`);
  t.same(Buffer.from(await original.arrayBuffer()), png, 'the original is untouched');

  t.equal((await user.api.DELETE('/uploads/{fileName}', { params: { path: { fileName: data! } } })).response.status, 200);
  t.equal((await fetch(`${baseUrl}/uploads/${name}-preview.jpeg`)).status, 404, 'deleting the upload removes its preview');
});

t.test('jpeg, gif and webp uploads get previews; small images are not enlarged', async (t) => {
  for (const [contentType, bytes, size] of [
    ['image/jpeg', await image(300, 900).jpeg().toBuffer(), [117, 350]],
    ['image/gif', await image(120, 60).gif().toBuffer(), [120, 60]],
    ['webp', await image(500, 500).webp().toBuffer(), [350, 350]],
  ] as const) {
    const { data } = await upload(user, bytes, contentType);
    const meta = await sharp(await preview(data!.replace(/\.[a-z]+$/, ''))).metadata();
    t.same([meta.format, meta.width, meta.height], ['jpeg', ...size], `${contentType} → ${data}`);
  }
});

t.test('files that are not images, or not valid ones, get no preview and the upload still succeeds', async (t) => {
  const text = await upload(user, 'just text', 'text/plain');
  // A PNG cut off in its image data: the right magic bytes, but sharp cannot read it.
  const whole = await image(10, 10).png().toBuffer();
  const broken = await upload(user, whole.subarray(0, whole.indexOf('IDAT') + 8), 'image/png');
  t.equal(text.response.status, 200);
  t.equal(broken.response.status, 200, 'a broken image is stored like any file');
  await app.kernel.previews.idle();
  for (const file of [text.data!, broken.data!]) {
    t.equal((await fetch(`${baseUrl}/uploads/${file.replace(/\.[a-z]+$/, '')}-preview.jpeg`)).status, 404, `${file}: no preview`);
  }
  const later = await upload(user, await image(400, 100).png().toBuffer(), 'image/png');
  const meta = await sharp(await preview(later.data!.replace('.png', ''))).metadata();
  t.same([meta.width, meta.height], [350, 88], 'the queue keeps working after a failure');
});
