// A database made by an earlier release (only the first migration applied, data in it)
// opens with today's migrations added on top: nothing is re-created, nothing is lost.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import t, { type Test } from 'tap';
import { openDatabase, type DatabaseHandle } from '../../src/db/client.ts';
import { migrationsFolder } from '../../src/paths.ts';
import { freshDatabaseUrl } from '../helpers/app.ts';

interface Journal {
  entries: Array<{ tag: string }>;
}

const journal = JSON.parse(readFileSync(path.join(migrationsFolder, 'meta/_journal.json'), 'utf8')) as Journal;

/** drizzle/ as the first release shipped it: the first migration only. */
async function firstReleaseMigrations(t: Test): Promise<string> {
  const folder = await mkdtemp(path.join(tmpdir(), 'parley-migrations-'));
  t.teardown(() => rm(folder, { recursive: true, force: true }));
  const [first] = journal.entries;
  mkdirSync(path.join(folder, 'meta'));
  cpSync(path.join(migrationsFolder, `${first.tag}.sql`), path.join(folder, `${first.tag}.sql`));
  writeFileSync(path.join(folder, 'meta/_journal.json'), JSON.stringify({ ...journal, entries: [first] }));
  return folder;
}

const seedUser = sql`insert into users (name, username, password_hash) values ('Early Bird', 'earlybird', 'x')`;

async function assertUpgraded(t: Test, database: DatabaseHandle) {
  const rows = (await database.db.execute(sql`select username, email_verified, password_digest_hash from users`)) as unknown as
    | Array<Record<string, unknown>>
    | { rows: Array<Record<string, unknown>> };
  const users = Array.isArray(rows) ? rows : rows.rows;
  t.same(users, [{ username: 'earlybird', email_verified: false, password_digest_hash: null }], 'the earlier user is kept, with the new columns');
  await database.db.execute(sql`select count(*) from email_two_factor`);
  t.pass('the tables of later migrations exist');
}

t.test('a PGlite data directory of the first release opens with the later migrations applied', async (t) => {
  t.ok(journal.entries.length > 1, 'there are migrations after the first');
  const dataDir = await mkdtemp(path.join(tmpdir(), 'parley-upgrade-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const old = new PGlite(path.join(dataDir, 'pgdata'));
  await migratePglite(drizzlePglite({ client: old }), { migrationsFolder: await firstReleaseMigrations(t) });
  await drizzlePglite({ client: old }).execute(seedUser);
  await old.close();

  const database = await openDatabase({ dataDir });
  t.teardown(() => database.close());
  await assertUpgraded(t, database);
});

t.test('a PostgreSQL database of the first release opens with the later migrations applied', { skip: !process.env.TEST_DATABASE_URL && 'TEST_DATABASE_URL is not set' }, async (t) => {
  const url = (await freshDatabaseUrl(t))!;
  const client = postgres(url, { max: 1, onnotice: () => {} });
  await migratePostgres(drizzlePostgres({ client }), { migrationsFolder: await firstReleaseMigrations(t) });
  await drizzlePostgres({ client }).execute(seedUser);
  await client.end();

  const database = await openDatabase({ url, poolSize: 2 });
  t.teardown(() => database.close());
  await assertUpgraded(t, database);
});
