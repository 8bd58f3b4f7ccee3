// A real Parley per test file: its own database (in-memory PGlite, or a fresh PostgreSQL
// database when TEST_DATABASE_URL is set), its own data directory, an ephemeral port.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import postgres from 'postgres';
import { buildApp, type BuildOptions } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { openDatabase, type DatabaseHandle } from '../../src/db/client.ts';
import { TEST_LIMITS } from './limits.ts';

export interface TestContext {
  teardown(fn: () => unknown): void;
}

export interface TestApp {
  app: FastifyInstance;
  config: Config;
  database: DatabaseHandle;
  /** http://127.0.0.1:<port> */
  baseUrl: string;
}

/** A fresh database: a new PostgreSQL database under TEST_DATABASE_URL, or PGlite in memory. */
export async function freshDatabaseUrl(t: TestContext): Promise<string | undefined> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) return undefined;
  const name = `parley_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  t.teardown(async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function testConfig(t: TestContext, overrides: Partial<Config> = {}): Promise<Config> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'parley-test-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  // Tests never reach a homeserver they did not start (generated requests name arbitrary servers).
  const env = { DATA_DIR: dataDir, LOG_LEVEL: 'silent', MATRIX_FEDERATION_ALLOWED_SERVERS: 'homeserver.invalid', ...TEST_LIMITS };
  return { ...loadConfig(env), ...overrides };
}

export async function startApp(t: TestContext, overrides: Partial<Config> = {}, options: Omit<BuildOptions, 'database' | 'logger'> = {}): Promise<TestApp> {
  const config = await testConfig(t, overrides);
  const url = await freshDatabaseUrl(t);
  const database = await openDatabase({ url, poolSize: 5 });
  const app = await buildApp(config, { ...options, database, logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(async () => {
    await app.close();
    await database.close();
  });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { app, config, database, baseUrl: `http://127.0.0.1:${port}` };
}

export interface Instance {
  app: FastifyInstance;
  database: DatabaseHandle;
  baseUrl: string;
  /** Closes this instance now (a process going away); the test's end does it otherwise. */
  stop(): Promise<void>;
}

/**
 * Starts instances of the app on one database, as several Parley processes share one:
 * PostgreSQL under TEST_DATABASE_URL (a pool each), else one PGlite handle for all.
 */
export async function instanceStarter(t: TestContext): Promise<() => Promise<Instance>> {
  const url = await freshDatabaseUrl(t);
  const shared = url ? undefined : await openDatabase({});
  if (shared) t.teardown(() => shared.close());
  const config = await testConfig(t);
  return async () => {
    const database = shared ?? (await openDatabase({ url, poolSize: 3 }));
    const app = await buildApp(config, { database, logger: false });
    await app.listen({ port: 0, host: '127.0.0.1' });
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      await app.close();
      if (!shared) await database.close();
    };
    t.teardown(stop);
    const address = app.server.address();
    return { app, database, baseUrl: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, stop };
  };
}
