// One Drizzle database over either embedded PGlite (no DATABASE_URL) or PostgreSQL
// through postgres.js; migrations from drizzle/ are applied when it opens.
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn, PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import * as schema from './schema/index.ts';
import { claimDataDir, type DataDirClaim } from './data-dir-lock.ts';
import { migrationsFolder } from '../paths.ts';

export type Schema = typeof schema;
export type Database = PgDatabase<PgQueryResultHKT, Schema>;
export type Transaction = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
/** Either the database or an open transaction: domain functions accept both. */
export type Executor = Database | Transaction;

/** Rows of a raw statement: postgres.js gives an array, PGlite `{ rows }`. */
export async function queryRows<Row>(db: Executor, query: SQL): Promise<Row[]> {
  const result = (await db.execute(query)) as unknown;
  return (Array.isArray(result) ? result : (result as { rows: Row[] }).rows) as Row[];
}

/**
 * `column = any($1)` with all values in one array parameter: one statement text whatever
 * the count (a prepared plan is reused), and no per-value parameter building.
 */
export function equalsAnyText(column: AnyPgColumn, values: string[]): SQL {
  return sql`${column} = any(${sql.param(values)}::text[])`;
}

export interface DatabaseHandle {
  db: Database;
  kind: 'pglite' | 'postgres';
  /** The embedded database, when kind is pglite (LISTEN/NOTIFY inside this process). */
  pglite?: PGlite;
  /** The postgres.js pool, when kind is postgres (LISTEN/NOTIFY across processes). */
  postgres?: postgres.Sql;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres://… ; without it PGlite is used. */
  url?: string;
  /** PGlite data lives in `<dataDir>/pgdata`; undefined keeps PGlite in memory (tests). */
  dataDir?: string;
  /** The data directory, already claimed by the caller (main.ts does so before loading the server). */
  claim?: DataDirClaim;
  poolSize?: number;
}

// Any constant shared by all Parley processes: serializes start-up migrations.
const MIGRATION_LOCK_ID = 7_310_442;

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  return options.url ? openPostgres(options.url, options.poolSize ?? 10) : openPglite(options.dataDir, options.claim);
}

async function openPostgres(url: string, poolSize: number): Promise<DatabaseHandle> {
  const client = postgres(url, { max: poolSize, onnotice: () => {} });
  const db = drizzlePostgres({ client: preparing(client), schema }) as unknown as Database;
  const lockConnection = await client.reserve();
  try {
    await lockConnection`select pg_advisory_lock(${MIGRATION_LOCK_ID})`;
    await migratePostgres(db as never, { migrationsFolder });
  } finally {
    await lockConnection`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`.catch(() => {});
    lockConnection.release();
  }
  return {
    db,
    kind: 'postgres',
    postgres: client,
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: () => client.end({ timeout: 5 }),
  };
}

type Callback = (sql: unknown) => unknown;
type Variadic = (...args: unknown[]) => unknown;

/**
 * The pool as drizzle sees it: every statement is a named prepared statement, so each
 * connection parses and plans a query text once and PostgreSQL can keep its plan. Drizzle
 * otherwise sends unnamed statements, planned on every execution (npm run bench, post
 * message: 450 → 714 req/s). postgres.js recycles connections every 30–60 minutes, which
 * bounds how many statements a backend keeps.
 */
function preparing<Client extends object>(client: Client): Client {
  return new Proxy(client, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as Variadic;
      if (property === 'unsafe') {
        return (query: string, parameters?: unknown[], options?: postgres.UnsafeQueryOptions) => value(query, parameters, { ...options, prepare: true });
      }
      // Transactions and savepoints hand their callback a client of their own: wrap it too.
      if (property === 'begin' || property === 'savepoint') {
        return (...args: unknown[]) => {
          const callback = args.pop() as Callback;
          return value(...args, (sql: object) => callback(preparing(sql)));
        };
      }
      return value;
    },
  });
}

// PostgreSQL's default 128 MB of shared buffers made every PGlite start ~0.3 s slower than
// 16 MB (measured; npm run bench, cold start) and holds that much memory: one embedded
// connection, with the OS page cache beneath it, does well with 16 MB.
const PGLITE_OPTIONS = { startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'] };

async function openPglite(dataDir?: string, claim?: DataDirClaim): Promise<DatabaseHandle> {
  let unlock = async () => {};
  let pglite: PGlite;
  if (dataDir) {
    const { pgdata, seeded, unlock: release } = claim ?? claimDataDir(dataDir, migrationsFolder);
    unlock = release;
    await seeded.catch(async (error: unknown) => {
      await unlock();
      throw error;
    });
    pglite = new PGlite(pgdata, PGLITE_OPTIONS);
  } else {
    pglite = new PGlite(PGLITE_OPTIONS);
  }
  try {
    await pglite.waitReady;
    const db = drizzlePglite({ client: pglite, schema }) as unknown as Database;
    await migratePglite(db as never, { migrationsFolder });
    return {
      db,
      kind: 'pglite',
      pglite,
      ping: async () => {
        await pglite.query('select 1');
      },
      close: async () => {
        await pglite.close();
        await unlock();
      },
    };
  } catch (error) {
    await pglite.close().catch(() => {});
    await unlock();
    throw error;
  }
}
