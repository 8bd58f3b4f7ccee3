// Entry point: config → database → buildApp → listen; SIGTERM/SIGINT stop accepting, let
// in-flight requests finish and close the database.
import type { Server } from 'node:http';
import path from 'node:path';
import { loadConfig, type Config } from './config.ts';
import { claimDataDir, DataDirLockedError } from './db/data-dir-lock.ts';
import { migrationsFolder } from './paths.ts';

async function main() {
  const config = loadConfig();
  // Before anything heavy loads: lock PGlite's data directory and start a first start's
  // template copy on a worker thread; the database then opens while the server's modules
  // load (npm run bench, cold start).
  const claim = config.databaseUrl ? undefined : claimDataDir(config.dataDir, migrationsFolder);
  const opening = import('./db/client.ts').then(({ openDatabase }) =>
    openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, claim }),
  );
  const [{ buildApp }, database] = await Promise.all([import('./app.ts'), opening]);
  const app = await buildApp(config, { database }).catch(async (error: unknown) => {
    await database.close();
    throw error;
  });
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const forced = setTimeout(() => {
      app.log.error('shutdown took too long; exiting');
      process.exit(1);
    }, 10_000);
    forced.unref();
    app
      .close()
      .then(() => database.close())
      .then(
        () => process.exit(0),
        (error) => {
          app.log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await app.listen({ port: config.port, host: config.host });
  app.log.info(banner(config, app.server.address()));
}

/** The one line a person starting Parley reads: where to point a browser, and which database holds the data. */
function banner(config: Config, address: ReturnType<Server['address']>): string {
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = ['0.0.0.0', '::', ''].includes(config.host) ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host;
  const base = `http://${host}:${port}`;
  return `Parley is ready: web client ${base}/ · API docs ${base}/docs · database ${describeDatabase(config)}`;
}

/** PGlite's directory, or PostgreSQL's host and database: never the credentials of DATABASE_URL. */
function describeDatabase(config: Config): string {
  if (!config.databaseUrl) return `PGlite in ${path.join(config.dataDir, 'pgdata')}`;
  const url = new URL(config.databaseUrl);
  return `PostgreSQL ${url.host}${url.pathname.length > 1 ? url.pathname : ''}`;
}

main().catch((error) => {
  if (error instanceof DataDirLockedError) {
    console.error(error.message);
  } else {
    console.error(error);
  }
  process.exit(1);
});
