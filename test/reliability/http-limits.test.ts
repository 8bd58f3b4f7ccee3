// Slow and greedy clients cannot take the server down (issue 13, point 4): connections per
// client address, late headers, late bodies, stalled uploads and idle keep-alive sockets,
// each with a short configured limit. Outcomes only: who is cut, who is answered.
import net from 'node:net';
import t from 'tap';
import { buildApp } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { openDatabase } from '../../src/db/client.ts';
import { canonicalAddress, isLoopbackAddress } from '../../src/http/client-address.ts';
import { freshDatabaseUrl, startApp, testConfig } from '../helpers/app.ts';
import { registerUser } from '../helpers/messenger.ts';

const defaults = loadConfig({}).http;
const limits = (overrides: Partial<Config['http']>): Partial<Config> => ({ http: { ...defaults, ...overrides } });

interface Exchange {
  /** Everything the server sent before it closed the connection. */
  text: string;
  status?: number;
  json?: unknown;
}

/** A raw TCP client from `localAddress` (any 127.x.y.z reaches a loopback server). */
async function connect(baseUrl: string, localAddress = '127.0.0.1', host = '127.0.0.1'): Promise<net.Socket> {
  const socket = net.connect({ host, port: Number(new URL(baseUrl).port), localAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** Writes `data` (if any) and resolves with what came back once the server has closed the connection. */
function untilClosed(socket: net.Socket, data?: string | Buffer): Promise<Exchange> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  if (data !== undefined) socket.write(data);
  return new Promise((resolve) => {
    socket.once('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      const body = text.split('\r\n\r\n').slice(1).join('\r\n\r\n');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      resolve({ text, status: status ? Number(status) : undefined, json });
    });
  });
}

/** One request on an open socket; resolves with the status line's code once the response head arrived. */
function requestOn(socket: net.Socket, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const match = /^HTTP\/1\.1 (\d{3})[^]*\r\n\r\n/.exec(text);
      if (match) {
        socket.off('data', onData);
        resolve(Number(match[1]));
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed before answering ${path}: ${JSON.stringify(text)}`)));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: parley\r\n\r\n`);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('one address holding its maximum of connections is refused more; another address is served at once', async (t) => {
  const { app, baseUrl } = await startApp(t, limits({ maxConnectionsPerIp: 3 }));
  const held = [await connect(baseUrl, '127.0.0.2'), await connect(baseUrl, '127.0.0.2'), await connect(baseUrl, '127.0.0.2')];
  t.teardown(() => held.forEach((socket) => socket.destroy()));
  // Each held connection is live: it answers a request.
  for (const socket of held) t.equal(await requestOn(socket, '/healthz'), 200);

  const extra = await untilClosed(await connect(baseUrl, '127.0.0.2'), 'GET /readyz HTTP/1.1\r\nHost: parley\r\n\r\n');
  t.equal(extra.text, '', 'the fourth connection from 127.0.0.2 is closed without an answer');

  const other = await connect(baseUrl, '127.0.0.3');
  t.teardown(() => other.destroy());
  t.equal(await requestOn(other, '/readyz'), 200, '/readyz from 127.0.0.3 answers while 127.0.0.2 holds its maximum');

  // A closed connection frees its place.
  const freed = held.pop()!;
  await new Promise((resolve) => freed.once('close', resolve).end());
  let again: net.Socket | undefined;
  // The server may see the close a moment after the client: retry until it has.
  for (let attempt = 0; attempt < 50 && !again; attempt++) {
    const socket = await connect(baseUrl, '127.0.0.2');
    const status = await requestOn(socket, '/readyz').catch(() => undefined);
    if (status === 200) again = socket;
    else await sleep(20);
  }
  t.ok(again, 'once one closes, 127.0.0.2 may connect again');
  again?.destroy();

  t.equal(app.server.headersTimeout, 10_000, 'headers must arrive within 10 s by default');
  t.equal(app.server.keepAliveTimeout, 72_000, 'idle keep-alive sockets close after 72 s by default');
});

t.test('late headers, late JSON bodies and stalled uploads are cut; a trickling upload survives', async (t) => {
  const { baseUrl } = await startApp(t, limits({ headersTimeoutMs: 300, bodyTimeoutMs: 300, uploadIdleTimeoutMs: 1_500 }));

  await t.test('headers that never finish: 408 and closed', async (t) => {
    const slow = await untilClosed(await connect(baseUrl), 'GET /readyz HTTP/1.1\r\nHost: parley\r\nX-Slow: 1\r\n');
    t.equal(slow.status, 408, 'answered 408 and closed');
  });

  const surfaces: Array<[string, string, (body: unknown) => boolean]> = [
    ['/api/users', 'messenger', (body) => (body as { error?: unknown }).error === true && typeof (body as { reason?: unknown }).reason === 'string'],
    ['/api/v1/login', 'Rocket.Chat', (body) => (body as { success?: unknown }).success === false && typeof (body as { error?: unknown }).error === 'string'],
    ['/_matrix/identity/v2/account/register', 'Matrix', (body) => typeof (body as { errcode?: unknown }).errcode === 'string'],
  ];
  for (const [path, surface, isEnvelope] of surfaces) {
    await t.test(`a JSON body that stalls: 408 in the ${surface} envelope, connection closed`, async (t) => {
      const head = `POST ${path} HTTP/1.1\r\nHost: parley\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n`;
      const stalled = await untilClosed(await connect(baseUrl), `${head}{"username": "someone",`);
      t.equal(stalled.status, 408, 'answered 408 Request Timeout');
      t.ok(isEnvelope(stalled.json), `${surface} envelope: ${JSON.stringify(stalled.json)}`);
      t.match(stalled.text, /\r\nconnection: close\r\n/i, 'the connection is closed after the answer');
    });
  }

  const user = await registerUser(baseUrl);
  const uploadHead = (length: number) =>
    `POST /api/uploads HTTP/1.1\r\nHost: parley\r\nAuthorization: Bearer ${user.token}\r\nContent-Type: txt\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;

  await t.test('an upload that keeps sending outlives the body deadline', async (t) => {
    const socket = await connect(baseUrl);
    const answer = untilClosed(socket, uploadHead(200));
    // 20 chunks 100 ms apart: far past the 300 ms body deadline, never idle for 1.5 s.
    for (let i = 0; i < 20; i++) {
      await sleep(100);
      socket.write('0123456789');
    }
    const done = await answer;
    t.equal(done.status, 200, 'stored');
    t.match(done.text, /\r\n\r\n[\w-]+\.txt$/, 'answered with the stored name');
  });

  await t.test('an upload that stops sending is cut', async (t) => {
    const stalled = await untilClosed(await connect(baseUrl), `${uploadHead(200)}${'x'.repeat(50)}`);
    t.equal(stalled.status, 408, 'answered 408 and closed');
    t.ok((stalled.json as { error?: unknown }).error, 'in the messenger envelope');
  });
});

t.test('an idle keep-alive connection is closed after the keep-alive timeout', async (t) => {
  const { app, baseUrl } = await startApp(t, limits({ keepAliveTimeoutMs: 300 }));
  t.equal(app.server.keepAliveTimeout, 300, 'the configured value reaches the server');
  const socket = await connect(baseUrl);
  const closed = untilClosed(socket);
  t.equal(await requestOn(socket, '/healthz'), 200, 'a keep-alive request is answered');
  const after = await closed;
  t.match(after.text, /^HTTP\/1\.1 200/, 'nothing more than the answer, then the server closes the idle socket');
  t.notMatch(after.text, /connection: close/i, 'it was a keep-alive answer');
});

t.test('loopback and IPv4-mapped addresses have one spelling', async (t) => {
  for (const spelling of ['127.0.0.1', '::ffff:127.0.0.1', '[::ffff:127.0.0.1]', '::ffff:7f00:1', '127.0.0.2', '::1', '[::1]', '0:0:0:0:0:0:0:1', '0.0.0.0', '::']) {
    t.ok(isLoopbackAddress(spelling), `${spelling} is loopback`);
  }
  for (const spelling of ['10.0.0.1', '::ffff:10.0.0.1', '169.254.169.254', '2001:db8::1', 'localhost']) {
    t.notOk(isLoopbackAddress(spelling), `${spelling} is not loopback`);
  }
  t.equal(canonicalAddress('::ffff:127.0.0.2'), '127.0.0.2');
  t.equal(canonicalAddress('[0:0:0:0:0:0:0:1]'), '::1');

  // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; the server counts, limits and logs them as a.b.c.d.
  const lines: string[] = [];
  const config = await testConfig(t, { logLevel: 'info', ...limits({ maxConnectionsPerIp: 1 }) });
  const database = await openDatabase({ url: await freshDatabaseUrl(t), poolSize: 2 });
  const app = await buildApp(config, { database, logStream: { write: (line) => void lines.push(line) } });
  t.teardown(async () => {
    await app.close();
    await database.close();
  });
  try {
    await app.listen({ port: 0, host: '::' });
  } catch (error) {
    t.comment(`skipped: no dual-stack listener here (${(error as Error).message})`);
    return;
  }
  const baseUrl = `http://127.0.0.1:${(app.server.address() as net.AddressInfo).port}`;
  const first = await connect(baseUrl, '127.0.0.2');
  t.teardown(() => first.destroy());
  t.equal(await requestOn(first, '/healthz'), 200);
  const second = await untilClosed(await connect(baseUrl, '127.0.0.2'), 'GET /healthz HTTP/1.1\r\nHost: parley\r\n\r\n');
  t.equal(second.text, '', 'a second connection of the same client is over its limit of 1');
  const addresses = lines.map((line) => (JSON.parse(line) as { req?: { remoteAddress?: string } }).req?.remoteAddress).filter(Boolean);
  t.ok(addresses.length > 0, 'requests are logged with their address');
  t.same([...new Set(addresses)], ['127.0.0.2'], 'logged (and rate-limited) as 127.0.0.2, not ::ffff:127.0.0.2');
});
