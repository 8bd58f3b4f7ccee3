// Faults against the real server as a child process (`node --import tsx src/main.ts`):
// SIGTERM under load, a second process on one PGlite data directory, and SIGKILL in the
// middle of a stream of posts — nothing acknowledged is lost, retries are not duplicated.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { freshDatabaseUrl } from '../helpers/app.ts';
import { freePort, json, PG_ADMIN, ready, register, startServer, stopOnTeardown, tempDir } from '../helpers/child-server.ts';
import { eachLimited, rawRequest } from '../helpers/raw-http.ts';

t.test('SIGTERM under load: in-flight requests finish, the process exits 0', async (t) => {
  const child = startServer({ PORT: String(await freePort()), DATA_DIR: await tempDir(t) });
  stopOnTeardown(t, child);
  await ready(child);
  const user = await register(child.baseUrl);
  const results: Array<number | string> = [];
  let stop = false;
  const load = eachLimited(Array.from({ length: 16 }, (_, i) => i), 16, async () => {
    while (!stop) {
      const r = await rawRequest(child.baseUrl, { method: 'GET', path: '/api/users/me', headers: { authorization: `Bearer ${user.token}`, connection: 'close' } }).then(
        (response) => response.status,
        (error: NodeJS.ErrnoException) => error.code ?? 'error',
      );
      results.push(r);
      if (typeof r === 'string') await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  await new Promise((resolve) => setTimeout(resolve, 500));
  const signalledAt = Date.now();
  child.process.kill('SIGTERM');
  const code = await Promise.race([child.exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 10_000))]);
  const within = Date.now() - signalledAt <= 10_000;
  stop = true;
  await load;
  t.equal(code, 0, 'exit code 0');
  t.ok(within, 'exited within 10 s');
  const statuses = results.filter((r): r is number => typeof r === 'number');
  t.ok(statuses.filter((s) => s === 200).length > 0, 'requests were served before the signal');
  t.same(statuses.filter((s) => s !== 200 && s !== 503), [], 'every answered request was a success (or a clean 503), never a 500');
  const refused = results.filter((r) => typeof r === 'string');
  t.same([...new Set(refused)].filter((c) => c !== 'ECONNREFUSED' && c !== 'ECONNRESET'), [], 'new connections are refused cleanly');
});

t.test('a second process on the same PGlite data directory refuses to start', async (t) => {
  const dataDir = await tempDir(t);
  const first = startServer({ PORT: String(await freePort()), DATA_DIR: dataDir });
  stopOnTeardown(t, first);
  await ready(first, 'first');
  const second = startServer({ PORT: String(await freePort()), DATA_DIR: dataDir });
  stopOnTeardown(t, second);
  const code = await second.exited;
  t.not(code, 0, 'the second exits non-zero');
  t.match(second.output(), /in use by another Parley process/, 'with a clear message');
  t.equal((await rawRequest(first.baseUrl, { method: 'GET', path: '/readyz' })).status, 200, 'the first keeps serving');
  t.equal((await rawRequest(first.baseUrl, { method: 'GET', path: '/healthz' })).status, 200);
});

for (const database of ['PostgreSQL', 'PGlite'] as const) {
  t.test(`${database}: SIGKILL mid-stream, restart — every acknowledged post is there exactly once`, async (t) => {
    const dataDir = await tempDir(t);
    const env: Record<string, string> = { DATA_DIR: dataDir };
    if (database === 'PostgreSQL') {
      process.env.TEST_DATABASE_URL ||= PG_ADMIN;
      env.DATABASE_URL = (await freshDatabaseUrl(t))!;
    }
    let child = startServer({ ...env, PORT: String(await freePort()) });
    stopOnTeardown(t, child);
    await ready(child);
    const owner = await register(child.baseUrl);
    const member = await register(child.baseUrl);
    const chat = await rawRequest(child.baseUrl, json('POST', '/api/chats', { participants: [member.id] }, owner.token));
    if (chat.status === 404) {
      t.fail('POST /api/chats is not there: this test needs it');
      return;
    }
    t.equal(chat.status, 200, 'chat created');
    const chatId = (chat.json as { id: string }).id;
    const post = (baseUrl: string, localId: string) => rawRequest(baseUrl, json('POST', `/api/chats/${chatId}/messages`, { localId, text: `post ${localId}` }, owner.token));

    const localIds = Array.from({ length: 400 }, () => `${owner.id}+${randomUUID()}`);
    const acked = new Set<string>();
    let killed = false;
    const victim = child;
    await eachLimited(localIds, 4, async (localId) => {
      if (killed) return;
      const r = await post(victim.baseUrl, localId).catch(() => undefined);
      if (r?.status === 200) acked.add(localId);
      if (acked.size === 60 && !killed) {
        killed = true;
        victim.process.kill('SIGKILL');
      }
    });
    await victim.exited;
    t.ok(acked.size >= 60, `${acked.size} posts acknowledged before the kill`);

    child = startServer({ ...env, PORT: String(await freePort()) });
    stopOnTeardown(t, child);
    await ready(child, 'restarted server');
    // The client retries everything it sent: the same localId must not post twice.
    const retried = localIds.slice(0, acked.size + 20);
    for (const localId of retried) t.equal((await post(child.baseUrl, localId)).status, 200, `retry ${localId.slice(-6)}`);

    const seen = new Map<string, number>();
    let before: number | undefined;
    for (;;) {
      const page = await rawRequest(child.baseUrl, json('GET', `/api/chats/${chatId}/messages?count=200${before ? `&before=${before}` : ''}`, undefined, owner.token));
      t.equal(page.status, 200, 'history page');
      const messages = page.json as Array<{ id: number; localId: string }>;
      for (const m of messages) seen.set(m.localId, (seen.get(m.localId) ?? 0) + 1);
      if (messages.length < 200) break;
      before = Math.min(...messages.map((m) => m.id));
    }
    t.same([...acked].filter((id) => seen.get(id) !== 1), [], 'every acknowledged post is in the history exactly once');
    t.same(retried.filter((id) => seen.get(id) !== 1), [], 'every retried post exactly once');
    child.process.kill('SIGTERM');
    t.equal(await child.exited, 0);
  });
}
