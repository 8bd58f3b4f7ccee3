// Three Parley processes on one PostgreSQL behind HAProxy (Debian's package, run with
// deploy/haproxy.cfg as shipped, its addresses from the environment): posts stream in and
// sockets sit on every process, all through the balancer; one process is SIGKILLed and later
// restarted. Every acknowledged post is in the history exactly once, HAProxy's /readyz checks
// take the dead process out and put it back, and every socket gets, exactly once, every
// message committed while it was connected.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import t from 'tap';
import { freshDatabaseUrl } from '../helpers/app.ts';
import { freePort, json, PG_ADMIN, ready, register, startServer, stopOnTeardown, tempDir, type Child } from '../helpers/child-server.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { SocketProbe } from '../helpers/realtime.ts';

process.env.TEST_DATABASE_URL ||= PG_ADMIN;
const CONFIG = path.resolve(import.meta.dirname, '../../deploy/haproxy.cfg');
const SERVERS = ['parley1', 'parley2', 'parley3'] as const;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Each server's status (UP, DOWN, …) in the backend, from HAProxy's stats page as CSV. */
async function backendStatus(statsUrl: string): Promise<Record<string, string>> {
  const response = await rawRequest(statsUrl, { method: 'GET', path: '/;csv' });
  const [header, ...lines] = response.text.trim().split('\n');
  const columns = header.replace(/^# /, '').split(',');
  const status: Record<string, string> = {};
  for (const line of lines) {
    const row = Object.fromEntries(line.split(',').map((value, i) => [columns[i], value]));
    if (row.pxname === 'parley' && SERVERS.includes(row.svname as (typeof SERVERS)[number])) status[row.svname] = row.status;
  }
  return status;
}

async function waitForStatus(statsUrl: string, wanted: Record<string, string>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last: Record<string, string> = {};
  while (Date.now() < deadline) {
    last = await backendStatus(statsUrl).catch(() => ({}));
    if (Object.entries(wanted).every(([server, status]) => last[server] === status)) return;
    await sleep(100);
  }
  throw new Error(`HAProxy never showed ${what}: ${JSON.stringify(last)}`);
}

t.test('behind HAProxy: a process SIGKILLed and restarted loses no post and no event', async (t) => {
  if (spawnSync('haproxy', ['-v']).status !== 0) {
    t.fail('haproxy is not installed (apt-get install haproxy; .ci/run installs it)');
    return;
  }
  const databaseUrl = (await freshDatabaseUrl(t))!;
  const ports = await Promise.all(SERVERS.map(() => freePort()));
  // One DATA_DIR for all, as deploy/parley@.service has it (uploads are served by any process).
  const dataDir = await tempDir(t);
  // Behind the balancer every client has its address: no per-address connection cap (the
  // registration and identity limits are raised for every test server already).
  const launch = (i: number): Child => {
    const child = startServer({ PORT: String(ports[i]), DATABASE_URL: databaseUrl, DATA_DIR: dataDir, HTTP_MAX_CONNECTIONS_PER_IP: '0' });
    stopOnTeardown(t, child);
    return child;
  };
  const servers = SERVERS.map((_, i) => launch(i));
  await Promise.all(servers.map((server, i) => ready(server, SERVERS[i], 60_000)));

  const [lbPort, statsPort] = [await freePort(), await freePort()];
  const lb = `http://127.0.0.1:${lbPort}`;
  const stats = `http://127.0.0.1:${statsPort}`;
  const haproxy = spawn('haproxy', ['-db', '-f', CONFIG], {
    env: {
      ...process.env,
      PARLEY_LB_BIND: `127.0.0.1:${lbPort}`,
      PARLEY_LB_STATS: `127.0.0.1:${statsPort}`,
      ...Object.fromEntries(ports.map((port, i) => [`PARLEY_SERVER_${i + 1}`, `127.0.0.1:${port}`])),
      // Only root may switch users and chroot; the shipped config does both.
      ...(process.getuid?.() === 0 ? {} : { PARLEY_LB_UNPRIVILEGED: '1' }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let haproxyOutput = '';
  const keep = (chunk: Buffer) => (haproxyOutput = (haproxyOutput + chunk.toString()).slice(-20_000));
  haproxy.stdout.on('data', keep);
  haproxy.stderr.on('data', keep);
  const haproxyExited = new Promise((resolve) => haproxy.on('exit', resolve));
  t.teardown(async () => {
    if (haproxy.exitCode === null && haproxy.signalCode === null) {
      haproxy.kill('SIGTERM');
      await haproxyExited;
    }
  });
  await Promise.race([
    waitForStatus(stats, { parley1: 'UP', parley2: 'UP', parley3: 'UP' }, 'every process UP'),
    haproxyExited.then(() => Promise.reject(new Error('haproxy exited'))),
  ]).catch((error: Error) => {
    throw new Error(`${error.message}\n${haproxyOutput}`);
  });

  // Two posters, nine listeners with one socket each; all in one chat, all through HAProxy.
  const posters = [await register(lb), await register(lb)];
  const listeners: Array<Awaited<ReturnType<typeof register>>> = [];
  for (let i = 0; i < 9; i++) listeners.push(await register(lb));
  const created = await rawRequest(lb, json('POST', '/api/chats', { title: 'Behind HAProxy', participants: [...posters.slice(1), ...listeners].map((u) => u.id), isPersonal: false }, posters[0].token));
  t.equal(created.status, 200, 'chat created');
  const chatId = (created.json as { id: string }).id;

  interface Connection {
    probe: SocketProbe;
    server: string;
    openedAt: number;
  }
  const connections: Connection[] = [];
  const connect = async (listener: (typeof listeners)[number]): Promise<Connection> => {
    const probe = await SocketProbe.open(lb, listener.sessionId, listener.token);
    t.teardown(() => probe.close());
    if (probe.closed) throw new Error(`socket refused: ${JSON.stringify(probe.closed)}`);
    const connection = { probe, server: String(probe.upgradeHeaders?.['x-parley-server']), openedAt: performance.now() };
    connections.push(connection);
    return connection;
  };
  const first: Connection[] = [];
  for (const listener of listeners) first.push(await connect(listener));
  const holding = (server: string) => first.filter((c) => c.server === server).length;
  t.same(SERVERS.map(holding).map((n) => n > 0), [true, true, true], `sockets on every process (${SERVERS.map(holding).join('/')})`);

  // The client stream: each post is retried with its localId until acknowledged (the
  // messenger returns the first message for a localId its author sent before).
  interface Post {
    localId: string;
    firstSentAt: number;
    ackedAt?: number;
    id?: number;
    attempts: number;
  }
  const posts: Post[] = [];
  const send = async (poster: (typeof posters)[number], text: string) => {
    const post: Post = { localId: `${poster.id}+${randomUUID()}`, firstSentAt: performance.now(), attempts: 0 };
    posts.push(post);
    const giveUpAt = Date.now() + 30_000;
    while (post.id === undefined) {
      post.attempts += 1;
      const response = await rawRequest(lb, json('POST', `/api/chats/${chatId}/messages`, { localId: post.localId, text }, poster.token)).catch(() => undefined);
      if (response?.status === 200) {
        post.id = (response.json as { id: number }).id;
        post.ackedAt = performance.now();
      } else if (response && response.status < 500) {
        throw new Error(`post refused: ${response.status} ${response.text}`);
      } else if (Date.now() > giveUpAt) {
        throw new Error(`post never acknowledged: ${response?.status} ${response?.text}`);
      } else {
        // 502 (its process died under it) or 503 (none up): the same localId again.
        await sleep(50);
      }
    }
  };
  let streaming = true;
  const stream = async (poster: (typeof posters)[number]) => {
    for (let n = 0; streaming && n < 2_000; n++) {
      await send(poster, `post ${n}`);
      await sleep(20);
    }
  };
  const streams = Promise.all(posters.map(stream));
  const acked = () => posts.filter((p) => p.id !== undefined).length;
  const untilAcked = async (count: number, what: string) => {
    for (let i = 0; i < 600 && acked() < count; i++) await sleep(50);
    if (acked() < count) throw new Error(`only ${acked()} posts acknowledged, waiting for ${what}`);
  };
  try {
    await untilAcked(40, 'the first posts');

    // SIGKILL parley2 in the middle of the stream, right after a burst of posts spread over
    // every process: some are cut off on it, and their clients retry.
    const BURST = 12;
    const burst = Promise.all(Array.from({ length: BURST }, (_, i) => send(posters[i % posters.length], `burst ${i}`)));
    burst.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile
    await sleep(5);
    const victim = 1;
    const killAt = performance.now();
    servers[victim].process.kill('SIGKILL');
    await servers[victim].exited;
    const dropped = first.filter((c) => c.server === SERVERS[victim]);
    await Promise.all(dropped.map((c) => c.probe.waitClosed(10_000)));
    t.pass(`the ${dropped.length} sockets on the killed process closed`);
    t.ok(first.filter((c) => c.server !== SERVERS[victim]).every((c) => !c.probe.closed), 'the sockets on the other processes stayed open');

    // Their clients reconnect through the balancer, which sends them to the live processes.
    const reconnected: Connection[] = [];
    for (const c of dropped) reconnected.push(await connect(listeners[first.indexOf(c)]));
    t.same(
      reconnected.filter((c) => c.server === SERVERS[victim]),
      [],
      'reconnected sockets landed on live processes',
    );
    await waitForStatus(stats, { [SERVERS[victim]]: 'DOWN' }, 'the killed process DOWN');
    t.pass('the /readyz check took the killed process out');
    await untilAcked(acked() + 40, 'posts while a process is down');

    // Restarted on its port: HAProxy's checks put it back, new sockets reach it.
    servers[victim] = launch(victim);
    await ready(servers[victim], 'restarted', 60_000);
    await waitForStatus(stats, { [SERVERS[victim]]: 'UP' }, 'the restarted process UP');
    t.pass('the restarted process is back in the pool');
    const late = await connect(listeners[0]);
    t.equal(late.server, SERVERS[victim], 'a new socket goes to the restarted process (fewest connections)');
    await untilAcked(acked() + 40, 'posts after the restart');

    streaming = false;
    await Promise.all([streams, burst]);

    // Every acknowledged post exactly once, with the id its acknowledgement gave.
    const history = new Map<string, number[]>();
    let before: number | undefined;
    for (let page = 0; page < 100; page++) {
      const response = await rawRequest(lb, json('GET', `/api/chats/${chatId}/messages?count=200${before ? `&before=${before}` : ''}`, undefined, posters[0].token));
      t.equal(response.status, 200, 'history page');
      const messages = response.json as Array<{ id: number; localId: string }>;
      for (const m of messages) history.set(m.localId, [...(history.get(m.localId) ?? []), m.id]);
      if (messages.length < 200) break;
      before = Math.min(...messages.map((m) => m.id));
    }
    t.ok(posts.length >= 120 && posts.every((p) => p.id !== undefined), `all ${posts.length} posts acknowledged (${posts.filter((p) => p.attempts > 1).length} after a retry)`);
    t.same(
      posts.filter((p) => JSON.stringify(history.get(p.localId)) !== JSON.stringify([p.id])),
      [],
      'every acknowledged post is in the history exactly once, as acknowledged',
    );
    t.equal(history.size, posts.length, 'and nothing else is');

    // A post in flight when its process died may have committed without its event going out
    // (the event is sent after the commit; the retry finds the message): no socket is owed it.
    const inFlightAtKill = new Set(posts.filter((p) => p.firstSentAt < killAt && p.ackedAt! > killAt).map((p) => p.id));
    t.ok(inFlightAtKill.size <= BURST + posters.length, `only the burst and one post per poster were in flight at the kill (${inFlightAtKill.size})`);
    const idsOf = (c: Connection) => c.probe.frames.filter((f) => f.event === 'message').map((f) => (f.payload as { id: number }).id);
    for (const [i, c] of connections.entries()) {
      // A socket of the killed process is owed nothing (its process died with events on the
      // way); every other one everything committed while it was connected: sent after it opened.
      const owed = c.probe.closed ? [] : posts.filter((p) => p.firstSentAt > c.openedAt && !inFlightAtKill.has(p.id)).map((p) => p.id!);
      await c.probe.until(() => owed.every((id) => idsOf(c).includes(id)), 'every owed message', 15_000).catch(() => undefined);
      const received = idsOf(c);
      const label = `socket ${i} on ${c.server}${c.probe.closed ? ' (killed)' : ''}`;
      t.same(owed.filter((id) => !received.includes(id)), [], `${label}: nothing committed while it was connected is missing (${owed.length} owed)`);
      t.equal(new Set(received).size, received.length, `${label}: no event twice`);
      t.same(received.filter((id) => !posts.some((p) => p.id === id)), [], `${label}: only messages of the history`);
      if (c.probe.closed) t.ok(received.length > 0, `${label}: had messages before the kill`);
    }
  } finally {
    streaming = false;
    await streams.catch(() => {});
  }
});
