// `npm start` as a user runs it: the build (web client, server bundle, PGlite template)
// when stale, then the bundled server on an empty data directory, seeded from the
// template; its data survives a restart. Also: a template made from other migrations is
// never used.
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { promisify } from 'node:util';
import { seedFromTemplate } from '../../src/db/pglite-template.ts';
import { migrationsFolder, projectRoot } from '../../src/paths.ts';
import { freePort, json, ready, register, startServer, stopOnTeardown, tempDir } from '../helpers/child-server.ts';
import { rawRequest } from '../helpers/raw-http.ts';

const run = promisify(execFile);

t.test('npm start serves every surface from an empty data directory, and keeps the data across a restart', async (t) => {
  const dataDir = await tempDir(t);
  const env = { PORT: String(await freePort()), DATA_DIR: dataDir, DATABASE_URL: '' };
  const first = startServer(env, { npmStart: true });
  stopOnTeardown(t, first);
  // The first npm start of a fresh clone builds everything: give it time.
  await ready(first, 'npm start', 180_000);

  const user = await register(first.baseUrl);
  t.equal((await rawRequest(first.baseUrl, json('GET', '/api/users/me', undefined, user.token))).status, 200, 'messenger');
  t.equal((await rawRequest(first.baseUrl, json('GET', '/_matrix/identity/v2'))).status, 200, 'identity');
  t.equal((await rawRequest(first.baseUrl, json('GET', '/api/v1/me'))).status, 401, 'Rocket.Chat (no token: its own 401)');
  const page = await rawRequest(first.baseUrl, { method: 'GET', path: '/' });
  t.equal(page.status, 200, 'the web client');
  t.match(page.text, /<html/i);
  t.equal((await rawRequest(first.baseUrl, { method: 'GET', path: '/openapi/messenger.json' })).status, 200, 'the published spec');
  t.ok(existsSync(path.join(dataDir, 'pgdata', 'PG_VERSION')), 'a database in DATA_DIR/pgdata');
  t.same((await readdir(dataDir)).filter((name) => name.includes('.seeding-')), [], 'no copy left half-way');

  first.signal('SIGTERM');
  await first.exited;
  const second = startServer({ ...env, PORT: String(await freePort()) }, { npmStart: true });
  stopOnTeardown(t, second);
  await ready(second, 'npm start again', 60_000);
  const me = await rawRequest(second.baseUrl, json('GET', '/api/users/me', undefined, user.token));
  t.equal(me.status, 200, 'the account and its session survived the restart');
  second.signal('SIGTERM');
  await second.exited;
});

t.test('npm start skips the build when nothing changed, and runs it when an input is newer', async (t) => {
  // The test above ran npm start, so the build and its stamp are current.
  const prestart = () => run(process.execPath, ['scripts/prestart.mjs'], { cwd: projectRoot });
  t.equal((await prestart()).stdout, '', 'nothing to build: the build script is not even loaded');
  const stampFile = path.join(projectRoot, 'dist/build-stamp.json');
  const stamp = JSON.parse(await readFile(stampFile, 'utf8')) as { newest: number };
  await writeFile(stampFile, JSON.stringify({ ...stamp, newest: stamp.newest - 60_000 }));
  t.match((await prestart()).stdout, /up to date|built/, 'an input newer than the stamp: the build runs and decides what is stale');
  t.equal((await prestart()).stdout, '', 'and the build left a current stamp');
});

t.test('a copy that fails is an error of the start, and leaves no scratch copy behind', async (t) => {
  // A file where the data directory's parent should be: the copy cannot even begin.
  const blocker = path.join(await tempDir(t), 'not-a-directory');
  await writeFile(blocker, '');
  await t.rejects(seedFromTemplate(path.join(blocker, 'pgdata'), migrationsFolder), { code: 'ENOTDIR' });
  t.same((await readdir(path.dirname(blocker))).sort(), ['not-a-directory'], 'nothing else written');
});

t.test('a template made from other migrations is not used', async (t) => {
  const elsewhere = await mkdtemp(path.join(tmpdir(), 'parley-migrations-'));
  t.teardown(() => rm(elsewhere, { recursive: true, force: true }));
  // A journal unlike the real one: the template's fingerprint cannot match it.
  await mkdir(path.join(elsewhere, 'meta'));
  await writeFile(path.join(elsewhere, 'meta/_journal.json'), JSON.stringify({ version: '7', entries: [] }));
  const target = path.join(await tempDir(t), 'pgdata');
  t.equal(await seedFromTemplate(target, elsewhere), false, 'not seeded');
  t.notOk(existsSync(target), 'nothing written: the start runs initdb itself');
});
