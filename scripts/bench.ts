// `npm run bench`: starts a Parley server (child process, PostgreSQL 127.0.0.1:5432, its own
// fresh database), baselines and load generators as separate processes on loopback, runs
// each scenario for a few seconds, stops everything it started, prints a table and writes
// bench/results/latest.json. Every figure that matters is a ratio against a baseline
// measured in the same run. Never part of `npm test`; it reports, it asserts nothing.
//
//   npm run bench                         all scenarios (about 2–3 minutes)
//   npm run bench -- --only=read,post     some of them (read post history fanout login flood identity idle cold ceiling)
//   npm run bench -- --only=ceiling       the realtime ceiling alone (about 2 minutes; writes bench/results/realtime-ceiling.json)
//   npm run bench -- --profile            the main server runs with --cpu-prof (bench/results/profiles/)
//   npm run bench -- --seconds=10         longer runs per scenario (default 5)
//   npm run bench -- --connections=1      HTTP and pgbench concurrency (default 10)
//   npm run bench -- --out=file.json      where the results go (default latest.json; a ceiling-only run: realtime-ceiling.json)
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { hashToken, newSecretToken } from '../src/auth/tokens.ts';
import { identityAccessTokens, identityAccounts } from '../src/db/schema/index.ts';
import type { FanoutResult } from './bench/ws-fanout.ts';
import type { AddressLoadConfig, AddressLoadResult } from './bench/address-load.ts';
import type { LoadConfig, LoadResult } from './bench/http-load.ts';
import { cpuSeconds, machineBusySeconds, pidsNamed } from './bench/cpu.ts';
import type { NotifyLoadConfig, NotifyStep } from './bench/notify-load.ts';
import { freePort, root, rssBytes, runWorker, start, startNode, stop, stopAll, waitFor200, type Child } from './bench/processes.ts';

const args = new Map(process.argv.slice(2).map((arg) => arg.replace(/^--/, '').split('=') as [string, string | undefined]));
const ALL = ['read', 'history', 'post', 'fanout', 'login', 'flood', 'identity', 'idle', 'cold', 'ceiling'];
const only = new Set(args.get('only')?.split(',') ?? ALL);
// A partial run never replaces the committed full run's latest.json by accident.
const OUT = args.get('out') ?? (only.size === 1 && only.has('ceiling') ? 'realtime-ceiling.json' : 'latest.json');
const SECONDS = Number(args.get('seconds') ?? 5);
const PROFILE = args.has('profile');
const CONNECTIONS = Number(args.get('connections') ?? 10);
const ADMIN_URL = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const PASSWORD = 'benchpass1';
const resultsDir = path.join(root, 'bench/results');

interface Row {
  scenario: string;
  measured: string;
  baseline: string;
  ratio?: number;
  value?: number;
  target: string;
  met?: boolean;
  note?: string;
}
const rows: Row[] = [];
const details: Record<string, unknown> = {};
const log = (message: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

// --- the database, the server ---------------------------------------------------------------

const dbName = `parley_bench_${randomBytes(4).toString('hex')}`;
const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
const dbUrl = (() => {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  return url.toString();
})();
const tempDirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-bench-'));
  tempDirs.push(dir);
  return dir;
};
let sql: postgres.Sql | undefined;

async function cleanup() {
  await stopAll();
  await sql?.end({ timeout: 5 }).catch(() => {});
  await admin.unsafe(`drop database if exists ${dbName} with (force)`).catch((error) => log(`drop database failed: ${error}`));
  await admin.end({ timeout: 5 }).catch(() => {});
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping everything`);
    void cleanup().finally(() => process.exit(130));
  });
}

interface Server {
  child: Child;
  base: string;
}

async function startServer(name: string, options: { profile?: boolean | string; env?: Record<string, string> } = {}): Promise<Server> {
  const port = await freePort();
  const nodeArgs = options.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(resultsDir, 'profiles')}`] : [];
  if (typeof options.profile === 'string') nodeArgs.push(`--cpu-prof-name=${options.profile}`);
  const child = startNode(name, 'src/main.ts', [], {
    nodeArgs,
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DATABASE_URL: dbUrl,
      DATA_DIR: tempDir(),
      // The logins of the storm must really hash, not be answered 429.
      LOGIN_RATE_LIMIT_PER_ACCOUNT: '100000000',
      LOGIN_RATE_LIMIT_PER_ACCOUNT_CEILING: '100000000',
      LOGIN_RATE_LIMIT_PER_IP: '100000000',
      REGISTER_RATE_LIMIT_PER_IP: '100000000',
      // The identity lookups come from one address: measure them, not the per-address limit.
      IDENTITY_RATE_LIMIT_PER_IP: '100000000',
      // Thousands of sockets from one address, 100 users' worth: measure them, not the limits.
      HTTP_MAX_CONNECTIONS_PER_IP: '0',
      WS_MAX_PER_USER: '100000',
      ...options.env,
    },
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor200(child, `${base}/readyz`);
  return { child, base };
}

async function api<T>(base: string, method: string, urlPath: string, body?: unknown, token?: string): Promise<T> {
  const response = await fetch(`${base}${urlPath}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${method} ${urlPath}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

const load = (name: string, config: LoadConfig) => runWorker<LoadResult>(name, 'scripts/bench/http-load.ts', config);
const loadFrom = (name: string, config: AddressLoadConfig) => runWorker<AddressLoadResult>(name, 'scripts/bench/address-load.ts', config);

function ensurePgbench(): string {
  const found = spawnSync('pgbench', ['--version'], { encoding: 'utf8' });
  if (found.status === 0) return 'pgbench';
  log('pgbench missing: apt-get install postgresql-contrib');
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'postgresql-contrib'], { stdio: 'inherit' });
  return 'pgbench';
}

// --- fixtures -------------------------------------------------------------------------------

interface User {
  id: number;
  username: string;
  sessionId: string;
  token: string;
}

/** Sessions inserted as login would make them (a random token, its sha256 kept). */
async function insertSessions(userIds: number[]): Promise<Array<{ userId: number; sessionId: string; token: string }>> {
  const made = userIds.map((userId) => ({ userId, sessionId: randomUUID(), token: newSecretToken() }));
  for (let i = 0; i < made.length; i += 2000) {
    const rows = made.slice(i, i + 2000).map((s) => ({
      id: s.sessionId,
      user_id: s.userId,
      token_hash: hashToken(s.token),
      device_id: randomUUID(),
      device_name: 'bench',
      device_model: 'bench',
      transport: 'none',
    }));
    await sql!`insert into device_sessions ${sql!(rows)}`;
  }
  return made;
}

// --- scenarios ------------------------------------------------------------------------------

async function main() {
  mkdirSync(resultsDir, { recursive: true });
  const pgbench = only.has('post') ? ensurePgbench() : undefined;
  await admin.unsafe(`create database ${dbName}`);
  sql = postgres(dbUrl, { max: 4, onnotice: () => {} });
  log(`database ${dbName}; starting the server${PROFILE ? ' with --cpu-prof' : ''}`);
  const server = await startServer('parley', { profile: PROFILE });

  // One user through the API; 99 more with the same password hash, and sessions, in SQL.
  const first = await api<{ info: { id: number; username: string }; deviceSessions: Array<{ id: string; accessToken: string }> }>(server.base, 'POST', '/api/users', {
    name: 'Bench User',
    username: 'benchuser0',
    password: PASSWORD,
    deviceInfo: { id: randomUUID(), name: 'bench', model: 'bench', transport: 'none' },
  });
  const others = await sql`
    insert into users (name, username, password_hash)
    select 'Bench User ' || i, 'benchuser' || i, (select password_hash from users where id = ${first.info.id})
    from generate_series(1, 99) as i
    returning id, username`;
  const sessions = await insertSessions(others.map((row) => row.id as number));
  const users: User[] = [
    { id: first.info.id, username: first.info.username, sessionId: first.deviceSessions[0].id, token: first.deviceSessions[0].accessToken },
    ...others.map((row, i) => ({ id: row.id as number, username: row.username as string, sessionId: sessions[i].sessionId, token: sessions[i].token })),
  ];
  const owner = users[0];
  const chatWith = (participants: number[], title?: string) =>
    api<{ id: string }>(server.base, 'POST', '/api/chats', { participants, ...(title ? { title, isPersonal: false } : {}) }, owner.token);
  const postChat = await chatWith([users[1].id]);
  const historyChat = await chatWith([users[2].id]);
  const pgbenchChat = await chatWith([users[3].id]);
  const bigChat = await chatWith(
    users.slice(1).map((u) => u.id),
    'Fan-out',
  );
  log('fixtures ready');

  let readRate: number | undefined;
  if (only.has('read')) {
    const helloPort = await freePort();
    const hello = startNode('hello', 'scripts/bench/hello.ts', [], { env: { PORT: String(helloPort) } });
    await waitFor200(hello, `http://127.0.0.1:${helloPort}/`);
    const baseline = await load('hello-load', { url: `http://127.0.0.1:${helloPort}/`, connections: CONNECTIONS, duration: SECONDS, warmupAmount: 5000 });
    await stop(hello);
    const read = await load('read-load', {
      url: `${server.base}/api/users/me`,
      connections: CONNECTIONS,
      duration: SECONDS,
      warmupAmount: 2000,
      headers: { authorization: `Bearer ${owner.token}` },
    });
    readRate = read.requestsPerSecond;
    details.read = { read, baseline };
    const ratio = read.requestsPerSecond / baseline.requestsPerSecond;
    rows.push({
      scenario: 'read profile',
      measured: `${Math.round(read.requestsPerSecond)} req/s GET /api/users/me`,
      baseline: `${Math.round(baseline.requestsPerSecond)} req/s fastify hello-world`,
      ratio: round(ratio),
      target: '≥ 0.4',
      met: ratio >= 0.4,
      note: read.non2xx || read.errors ? `${read.non2xx} non-2xx, ${read.errors} errors` : undefined,
    });
    log(`read profile ${round(ratio)}`);
  }

  if (only.has('history')) {
    log('seeding 100,000 messages');
    await sql`
      insert into messages (chat_id, author_id, local_id, text)
      select ${historyChat.id}::uuid, case when i % 2 = 0 then ${owner.id}::int else ${users[2].id}::int end,
             ${String(owner.id)}::text || '+' || md5(i::text) || '-0000-0000-0000-000000000000', 'history message number ' || i
      from generate_series(1, 100000) as i`;
    await sql`analyze messages`;
    const history = await load('history-load', {
      url: `${server.base}/api/chats/${historyChat.id}/messages?count=50`,
      connections: CONNECTIONS,
      duration: SECONDS,
      warmupAmount: 500,
      headers: { authorization: `Bearer ${owner.token}` },
    });
    details.history = history;
    const ratio = readRate ? history.requestsPerSecond / readRate : undefined;
    rows.push({
      scenario: 'history page',
      measured: `${Math.round(history.requestsPerSecond)} req/s GET …/messages?count=50 (100k messages)`,
      baseline: readRate ? `${Math.round(readRate)} req/s read profile` : '(read profile not run)',
      ratio: ratio === undefined ? undefined : round(ratio),
      target: 'report',
      note: history.non2xx || history.errors ? `${history.non2xx} non-2xx, ${history.errors} errors` : undefined,
    });
    log(`history page ${ratio === undefined ? '' : round(ratio)}`);
  }

  if (only.has('post') && pgbench) {
    const posts = await load('post-load', {
      url: `${server.base}/api/chats/${postChat.id}/messages`,
      connections: CONNECTIONS,
      duration: SECONDS,
      warmupAmount: 500,
      method: 'POST',
      headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json' },
      uniqueLocalIdPrefix: `${owner.id}+`,
    });
    const script = path.join(tempDir(), 'insert.sql');
    writeFileSync(
      script,
      `INSERT INTO messages (chat_id, author_id, local_id, text) VALUES ('${pgbenchChat.id}', ${owner.id}, '${owner.id}+' || gen_random_uuid(), 'benchmark message');\n`,
    );
    const child = start('pgbench', pgbench, ['-n', '-c', String(CONNECTIONS), '-j', '2', '-T', String(SECONDS), '-f', script, dbUrl]);
    const code = await child.exited;
    const tps = Number(/tps = ([\d.]+)/.exec(child.output())?.[1]);
    if (code !== 0 || !tps) throw new Error(`pgbench failed: ${child.output()}`);
    details.post = { posts, pgbenchTps: tps, pgbenchOutput: child.output().trim().split('\n').slice(-4) };
    const ratio = posts.requestsPerSecond / tps;
    rows.push({
      scenario: 'post message',
      measured: `${Math.round(posts.requestsPerSecond)} req/s POST /api/chats/:id/messages`,
      baseline: `${Math.round(tps)} tps pgbench single-row INSERT into messages, ${CONNECTIONS} clients`,
      ratio: round(ratio),
      target: '≥ 0.5',
      met: ratio >= 0.5,
      note: posts.non2xx || posts.errors ? `${posts.non2xx} non-2xx, ${posts.errors} errors` : undefined,
    });
    log(`post message ${round(ratio)}`);
  }

  if (only.has('fanout')) {
    const fanoutConfig = (postBase: string, wsBase: string) => ({
      postBase,
      wsBase,
      chatId: bigChat.id,
      poster: { id: owner.id, token: owner.token },
      sockets: users.map((u) => ({ sessionId: u.sessionId, token: u.token })),
      rate: 200,
      seconds: SECONDS,
      warmupSeconds: 1,
    });
    const one = await runWorker<FanoutResult>('fanout-1', 'scripts/bench/ws-fanout.ts', fanoutConfig(server.base, server.base));
    log(`fan-out one process p99 ${one.latencyMs.p99} ms`);
    const second = await startServer('parley-2');
    const two = await runWorker<FanoutResult>('fanout-2', 'scripts/bench/ws-fanout.ts', fanoutConfig(server.base, second.base));
    await stop(second.child);
    log(`fan-out two processes p99 ${two.latencyMs.p99} ms`);
    details.fanout = { oneProcess: one, twoProcesses: two };
    for (const [label, r, limit] of [
      ['fan-out, 1 process', one, 10],
      ['fan-out, 2 processes', two, 15],
    ] as const) {
      rows.push({
        scenario: label,
        measured: `p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms post → receipt, 100 sockets, ${r.achievedRate} msg/s`,
        baseline: '—',
        value: r.latencyMs.p99,
        target: `p99 < ${limit} ms`,
        met: r.latencyMs.p99 < limit && r.receipts === r.expectedReceipts,
        note: r.receipts !== r.expectedReceipts || r.postFailures ? `${r.receipts}/${r.expectedReceipts} receipts, ${r.postFailures} failed posts` : undefined,
      });
    }
  }

  if (only.has('ceiling')) await realtimeCeiling(server, users);

  if (only.has('login')) {
    const probe = (name: string) =>
      load(name, {
        url: `${server.base}/api/users/me`,
        connections: 4,
        duration: SECONDS,
        overallRate: 200,
        headers: { authorization: `Bearer ${owner.token}` },
      });
    const quiet = await probe('login-quiet');
    const stormUser = users[4];
    const storm = load('login-storm', {
      url: `${server.base}/api/users/login`,
      connections: 50,
      duration: SECONDS + 2,
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${stormUser.username}:${PASSWORD}`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceInfo: { id: randomUUID(), name: 'storm', model: 'bench', transport: 'none' } }),
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const stormy = await probe('login-probe');
    const logins = await storm;
    details.login = { quiet, stormy, logins };
    const ratio = stormy.latencyMs.p99 / quiet.latencyMs.p99;
    rows.push({
      scenario: 'login storm',
      measured: `p99 ${stormy.latencyMs.p99} ms GET /api/users/me at 200 req/s during ${Math.round(logins.requestsPerSecond)} logins/s (50 clients)`,
      baseline: `p99 ${quiet.latencyMs.p99} ms without the storm`,
      ratio: round(ratio),
      target: '≤ 2×',
      met: ratio <= 2 && logins.ok > 0,
      note: logins.non2xx ? `${logins.non2xx} logins not 200 (${JSON.stringify(logins.statusCodes)})` : undefined,
    });
    log(`login storm ${round(ratio)}`);
  }

  if (only.has('flood')) {
    // A fresh process whose account-key guesses are not limited either: the flood's every
    // request really hashes, the worst case for the fair share of the hashing queue.
    const flooded = await startServer('parley-flood', { env: { GUESS_RATE_LIMIT: '100000000' } });
    const loginUser = users[5];
    const probe = (name: string) =>
      loadFrom(name, {
        base: flooded.base,
        localAddress: '127.0.0.3',
        connections: 1,
        seconds: SECONDS,
        requests: [{ kind: 'login', username: loginUser.username, password: PASSWORD }],
      });
    await probe('flood-warmup');
    const quiet = await probe('flood-quiet');
    const flood = loadFrom('flood-load', {
      base: flooded.base,
      localAddress: '127.0.0.2',
      connections: 32,
      seconds: SECONDS + 2,
      requests: [{ kind: 'register', password: PASSWORD }, { kind: 'reset', userIds: users.map((u) => u.id) }],
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const flooding = await probe('flood-probe');
    const flooder = await flood;
    await stop(flooded.child);
    details.flood = { quiet, flooding, flooder };
    const hashed = (flooder.statusCodes['200'] ?? 0) + (flooder.statusCodes['403'] ?? 0);
    const ratio = flooding.latencyMs.p99 / quiet.latencyMs.p99;
    rows.push({
      scenario: 'flood fairness',
      measured: `login p50 ${flooding.latencyMs.p50} ms, p99 ${flooding.latencyMs.p99} ms from 127.0.0.3 while 127.0.0.2 floods register + resetPassword (32 connections, ${Math.round(hashed / flooder.requests * flooder.requestsPerSecond)} hashed/s)`,
      baseline: `login p50 ${quiet.latencyMs.p50} ms, p99 ${quiet.latencyMs.p99} ms without the flood`,
      ratio: round(ratio),
      target: '≤ 2× (p99)',
      met: ratio <= 2 && flooding.ok > 0,
      note: `p50 ratio ${round(flooding.latencyMs.p50 / quiet.latencyMs.p50)}; flood answers ${JSON.stringify(flooder.statusCodes)}${flooding.ok === flooding.requests ? '' : `; ${flooding.requests - flooding.ok} logins not 200 (${JSON.stringify(flooding.statusCodes)})`}`,
    });
    log(`flood fairness ${round(ratio)}`);
  }

  if (only.has('identity')) {
    const db = drizzle(sql);
    const token = newSecretToken();
    await db.insert(identityAccounts).values({ userId: '@bench:localhost' });
    await db.insert(identityAccessTokens).values({ tokenHash: hashToken(token), userId: '@bench:localhost' });
    const [{ pepper }] = await sql`select lookup_pepper as pepper from identity_hashing where id = 0`;
    log('seeding 100,000 bindings');
    await sql`
      insert into identity_associations (medium, address, lookup_hash, mxid, ts, not_before, not_after)
      select 'email', 'bench' || i || '@example.org',
             translate(rtrim(encode(sha256(convert_to('bench' || i || '@example.org email ' || ${pepper as string}::text, 'UTF8')), 'base64'), '='), '+/', '-_'),
             '@bench' || i || ':localhost', 0, 0, 4102444800000
      from generate_series(1, 100000) as i`;
    await sql`analyze identity_associations`;
    const lookupHash = (address: string) => createHash('sha256').update(`${address} email ${pepper}`).digest('base64url');
    // Half of them bound, half unknown.
    const addresses = Array.from({ length: 1000 }, (_, i) => lookupHash(i % 2 ? `bench${1 + i * 97}@example.org` : `nobody${i}@example.org`));
    const body = JSON.stringify({ algorithm: 'sha256', pepper, addresses });
    const check = await api<{ mappings: Record<string, string> }>(server.base, 'POST', '/_matrix/identity/v2/lookup', { algorithm: 'sha256', pepper, addresses }, token);
    const found = Object.keys(check.mappings).length;
    const lookups = await load('identity-load', {
      url: `${server.base}/_matrix/identity/v2/lookup`,
      connections: 1,
      amount: 200,
      warmupAmount: 20,
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    });
    details.identity = { lookups, found };
    rows.push({
      scenario: 'identity lookup',
      measured: `p50 ${lookups.latencyMs.p50} ms (p99 ${lookups.latencyMs.p99} ms) v2 lookup of 1,000 hashes, 100k bindings`,
      baseline: '—',
      value: lookups.latencyMs.p50,
      target: 'p50 < 20 ms',
      met: lookups.latencyMs.p50 < 20 && found === 500,
      note: found === 500 ? undefined : `${found} of 500 bound hashes found`,
    });
    log(`identity lookup p50 ${lookups.latencyMs.p50} ms`);
  }

  if (only.has('idle')) {
    const wanted = Number(args.get('sockets') ?? 10_000);
    const idleSessions = await insertSessions(Array.from({ length: wanted }, (_, i) => users[i % users.length].id));
    // A fresh process, so the load of the other scenarios does not count.
    const idle = await startServer('parley-idle');
    await api(idle.base, 'GET', '/api/users/me', undefined, owner.token);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const before = rssBytes(idle.child.process.pid!);
    const perClient = 2_500;
    const clients: Child[] = [];
    for (let i = 0; i < idleSessions.length; i += perClient) {
      const file = path.join(tempDir(), 'sockets.json');
      writeFileSync(file, JSON.stringify({ wsBase: idle.base, sessions: idleSessions.slice(i, i + perClient), concurrency: 50 }));
      clients.push(startNode(`ws-idle-${i / perClient}`, 'scripts/bench/ws-idle.ts', [file], { stdin: true }));
    }
    const reports = await Promise.all(
      clients.map(async (client) => {
        for (let i = 0; i < 1200; i++) {
          const line = client.output().split('\n').find((l) => l.startsWith('{'));
          if (line) return JSON.parse(line) as { open: number; failed: number; firstError: string };
          if (client.process.exitCode !== null) throw new Error(`${client.name}: ${client.output()}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        throw new Error(`${client.name} never reported`);
      }),
    );
    const open = reports.reduce((n, r) => n + r.open, 0);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const after = rssBytes(idle.child.process.pid!);
    for (const client of clients) client.process.stdin!.end();
    await Promise.all(clients.map((client) => client.exited));
    await stop(idle.child);
    const extraMb = (after - before) / 2 ** 20;
    details.idle = { wanted, open, reports, rssBeforeMb: round(before / 2 ** 20, 1), rssAfterMb: round(after / 2 ** 20, 1) };
    rows.push({
      scenario: 'idle sockets',
      measured: `RSS ${round(after / 2 ** 20, 1)} MB with ${open.toLocaleString('en')} authenticated idle sockets`,
      baseline: `RSS ${round(before / 2 ** 20, 1)} MB with none`,
      value: round(extraMb, 1),
      target: '< 300 MB extra',
      met: extraMb < 300 && open === wanted,
      note: `${round(extraMb, 1)} MB extra (${round((after - before) / Math.max(open, 1) / 1024, 1)} KB per socket)${open === wanted ? '' : `; only ${open} of ${wanted} opened: ${reports.find((r) => r.firstError)?.firstError}`}`,
    });
    log(`idle sockets +${round(extraMb, 1)} MB`);
  }

  if (only.has('cold')) {
    // What a user runs: npm start (its prestart finds the builds current after this first run).
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'ignore' });
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const started = performance.now();
      const env = { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', DATA_DIR: tempDir(), DATABASE_URL: '' };
      const child = start('cold-start', 'npm', ['start', '--silent'], { env, group: true });
      await waitFor200(child, `http://127.0.0.1:${port}/readyz`, 60_000, 10);
      times.push(performance.now() - started);
      await stop(child);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const median = sorted[1];
    details.cold = { ms: times.map((t) => Math.round(t)) };
    rows.push({
      scenario: 'cold start',
      measured: `${(median / 1000).toFixed(2)} s median of 3 (${times.map((t) => (t / 1000).toFixed(2)).join(', ')}) from npm start to /readyz 200, empty PGlite DATA_DIR`,
      baseline: '—',
      value: round(median / 1000),
      target: '< 3 s',
      met: median < 3000,
    });
    log(`cold start ${(median / 1000).toFixed(2)} s`);
  }

  await stop(server.child);
  if (server.child.process.exitCode !== 0) log(`the server exited ${server.child.process.exitCode}: ${server.child.output().slice(-2000)}`);
  else if (server.child.output().trim()) details.serverOutput = server.child.output().slice(-4000);
}

// --- the realtime ceiling -------------------------------------------------------------------

const CEILING_PROCESSES = 4;
const CEILING_SOCKETS = 40;
const CEILING_LIMIT_MS = 100;
const ceilingStepSeconds = Number(args.get('step-seconds') ?? 3);

/** Samples what PostgreSQL's active backends of the bench database wait on, every 50 ms, and the NOTIFY queue's fill. */
function samplePostgres() {
  const waits: Record<string, number> = {};
  let samples = 0;
  let queueUsage = 0;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const rows = await sql!`select coalesce(wait_event_type || ':' || wait_event, 'CPU') as wait, count(*)::int as n
        from pg_stat_activity where datname = ${dbName} and state = 'active' and pid <> pg_backend_pid() group by 1`;
      for (const row of rows) waits[row.wait as string] = (waits[row.wait as string] ?? 0) + (row.n as number);
      const [{ usage }] = await sql!`select pg_notification_queue_usage() as usage`;
      queueUsage = Math.max(queueUsage, Number(usage));
      samples += 1;
    } finally {
      busy = false;
    }
  }, 50);
  return () => {
    clearInterval(timer);
    // Average number of active backends in each state.
    const average = Object.fromEntries(Object.entries(waits).sort((a, b) => b[1] - a[1]).map(([wait, n]) => [wait, round(n / Math.max(samples, 1))]));
    return { activeBackends: average, notifyQueueMaxUsage: queueUsage, samples };
  };
}

/**
 * How far one PostgreSQL carries realtime: the bus alone (Parley's PgBus, one listening
 * connection per process, no HTTP), then four Parley processes with 40 sockets spread over
 * them and posts spread over them too, the event rate raised step by step until fan-out p99
 * (post sent → frame received) passes 100 ms. CPU per component and PostgreSQL's waits are
 * recorded for every step; the fourth process runs with --cpu-prof.
 */
async function realtimeCeiling(server: Server, users: User[]) {
  const within = (p99: number, ok: boolean) => ok && p99 <= CEILING_LIMIT_MS;
  log('realtime ceiling: the bus alone');
  const bus = await runWorker<{ steps: NotifyStep[] }>('notify-load', 'scripts/bench/notify-load.ts', {
    url: dbUrl,
    listeners: CEILING_PROCESSES,
    rates: [1000, 2000, 4000, 6000, 8000, 10000, 12000, 16000, 24000, 32000],
    seconds: ceilingStepSeconds,
    payloadBytes: 700,
    limitMs: CEILING_LIMIT_MS,
  } satisfies NotifyLoadConfig);
  const busCeiling = bus.steps.filter((s) => within(s.latencyMs.p99, s.received === s.sent * CEILING_PROCESSES)).at(-1);
  log(`bus alone: ${busCeiling?.achievedRate ?? 0} events/s within p99 ${CEILING_LIMIT_MS} ms`);

  const extra: Server[] = [];
  for (let i = 2; i <= CEILING_PROCESSES; i++) {
    extra.push(await startServer(`parley-c${i}`, { profile: i === CEILING_PROCESSES ? 'realtime-ceiling.cpuprofile' : undefined }));
  }
  const processes = [server, ...extra];
  const members = users.slice(0, CEILING_SOCKETS);
  const chat = await api<{ id: string }>(server.base, 'POST', '/api/chats', { participants: members.slice(1).map((u) => u.id), title: 'Ceiling', isPersonal: false }, members[0].token);
  const steps = [];
  for (const rate of [50, 100, 200, 300, 400, 500, 600, 800, 1000, 1250, 1500, 2000, 2500]) {
    const parleyPids = processes.map((p) => p.child.process.pid!);
    const before = { postgres: cpuSeconds(pidsNamed('postgres')), parley: cpuSeconds(parleyPids), machine: machineBusySeconds(), at: performance.now() };
    const stopSampling = samplePostgres();
    const r = await runWorker<FanoutResult>(`ceiling-${rate}`, 'scripts/bench/ws-fanout.ts', {
      postBase: server.base,
      wsBase: server.base,
      postBases: processes.map((p) => p.base),
      wsBases: processes.map((p) => p.base),
      chatId: chat.id,
      poster: { id: members[0].id, token: members[0].token },
      sockets: members.map((u) => ({ sessionId: u.sessionId, token: u.token })),
      rate,
      seconds: ceilingStepSeconds,
      warmupSeconds: 0.5,
    });
    const postgresSide = stopSampling();
    const wall = (performance.now() - before.at) / 1000;
    const spent = {
      postgres: cpuSeconds(pidsNamed('postgres')) - before.postgres,
      parley: cpuSeconds(parleyPids) - before.parley,
      machine: machineBusySeconds() - before.machine,
    };
    const events = r.posted + Math.round(rate * 0.5);
    const step = {
      rate,
      achievedRate: r.achievedRate,
      framesPerSecond: r.achievedRate * CEILING_SOCKETS,
      latencyMs: r.latencyMs,
      postLatencyMs: r.postLatencyMs,
      receipts: r.receipts,
      expectedReceipts: r.expectedReceipts,
      postFailures: r.postFailures,
      // Cores busy on average over the step (the load generator's start-up included in "rest"),
      // and CPU milliseconds per event.
      coresBusy: { postgres: round(spent.postgres / wall), parley: round(spent.parley / wall), rest: round((spent.machine - spent.postgres - spent.parley) / wall), machine: round(spent.machine / wall) },
      cpuMsPerEvent: { postgres: round((spent.postgres * 1000) / events), parley: round((spent.parley * 1000) / events) },
      postgres: postgresSide,
    };
    steps.push(step);
    log(`ceiling ${rate}/s: achieved ${r.achievedRate}/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, ${r.receipts}/${r.expectedReceipts} receipts, cores pg ${step.coresBusy.postgres} parley ${step.coresBusy.parley} rest ${step.coresBusy.rest}`);
    if (!within(r.latencyMs.p99, r.receipts === r.expectedReceipts && r.postFailures === 0 && r.achievedRate >= rate * 0.9)) break;
  }
  for (const started of extra) await stop(started.child);

  let profileTop: string[] = [];
  try {
    const profile = path.join(resultsDir, 'profiles', 'realtime-ceiling.cpuprofile');
    profileTop = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/bench/profile-top.ts', profile, '15'], { cwd: root, encoding: 'utf8' }).trim().split('\n');
  } catch (error) {
    log(`no profile of the fourth process: ${error}`);
  }
  const good = steps.filter((s) => within(s.latencyMs.p99, s.receipts === s.expectedReceipts && s.postFailures === 0 && s.achievedRate >= s.rate * 0.9));
  const ceiling = good.at(-1);
  const over = steps.length > good.length ? steps.at(-1) : undefined;
  details.ceiling = { processes: CEILING_PROCESSES, sockets: CEILING_SOCKETS, limitMs: CEILING_LIMIT_MS, stepSeconds: ceilingStepSeconds, bus: bus.steps, steps, profileTop };
  rows.push({
    scenario: 'bus alone (LISTEN/NOTIFY)',
    measured: `${busCeiling?.achievedRate ?? 0} events/s with p99 ${busCeiling?.latencyMs.p99 ?? '—'} ms notify → listener, ${CEILING_PROCESSES} listening connections, 700-byte payloads`,
    baseline: '—',
    value: busCeiling?.achievedRate ?? 0,
    target: 'report',
    note: `last step within p99 ${CEILING_LIMIT_MS} ms`,
  });
  rows.push({
    scenario: `realtime ceiling, ${CEILING_PROCESSES} processes`,
    measured: `${ceiling?.achievedRate ?? 0} messages/s (${ceiling?.framesPerSecond ?? 0} frames/s to ${CEILING_SOCKETS} sockets) with fan-out p99 ${ceiling?.latencyMs.p99 ?? '—'} ms`,
    baseline: `${busCeiling?.achievedRate ?? 0} events/s the bus alone`,
    ratio: ceiling && busCeiling ? round(ceiling.achievedRate / busCeiling.achievedRate) : undefined,
    value: ceiling?.achievedRate ?? 0,
    target: 'report',
    note: over ? `next step ${over.rate}/s: p99 ${over.latencyMs.p99} ms, cores busy postgres ${over.coresBusy.postgres}, parley ${over.coresBusy.parley}, rest ${over.coresBusy.rest}` : 'never passed the limit',
  });
}

function machine() {
  const cpus = os.cpus();
  return { cpus: cpus.length, model: cpus[0]?.model, memoryGb: round(os.totalmem() / 2 ** 30, 1), node: process.version, platform: `${os.type()} ${os.release()}` };
}

function table(): string {
  const header = ['scenario', 'measured', 'baseline (same run)', 'ratio', 'target', 'met'];
  const lines = rows.map((r) => [r.scenario, r.measured + (r.note ? ` — ${r.note}` : ''), r.baseline, r.ratio === undefined ? '—' : String(r.ratio), r.target, r.met === undefined ? 'report' : r.met ? 'yes' : 'NO']);
  return [header, header.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

const startedAt = new Date();
let failure: unknown;
try {
  await main();
} catch (error) {
  failure = error;
} finally {
  await cleanup();
}
if (interrupted) process.exit(130);
const output = { date: startedAt.toISOString(), machine: machine(), seconds: SECONDS, profile: PROFILE, rows, details, error: failure ? String(failure) : undefined };
writeFileSync(path.join(resultsDir, OUT), `${JSON.stringify(output, null, 2)}\n`);
console.log(`\nParley benchmark, ${startedAt.toISOString().slice(0, 10)}, ${machine().cpus} × ${machine().model}, Node ${process.version}\n`);
console.log(table());
console.log(`\nwritten: bench/results/${OUT}`);
if (failure) {
  console.error(failure);
  process.exit(1);
}
