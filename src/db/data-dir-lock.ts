// PGlite is a single-process database: a second Parley on the same data directory
// must refuse to start instead of corrupting it.
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { seedFromTemplate } from './pglite-template.ts';

export class DataDirLockedError extends Error {}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface DataDirClaim {
  pgdata: string;
  /** Settles when a first start's copy of the PGlite template is in place (false: nothing to copy). */
  seeded: Promise<boolean>;
  unlock(): Promise<void>;
}

/**
 * Creates and locks the data directory and starts a first start's template copy. Synchronous
 * up to the copy, which runs on a worker thread: main.ts claims before the server's modules
 * load, so the two overlap (npm run bench, cold start).
 */
export function claimDataDir(dataDir: string, migrationsFolder: string): DataDirClaim {
  mkdirSync(dataDir, { recursive: true });
  const unlock = lockDataDir(dataDir);
  const pgdata = path.join(dataDir, 'pgdata');
  const seeded = seedFromTemplate(pgdata, migrationsFolder);
  // Awaited by openDatabase later; until then a failure must not count as unhandled.
  seeded.catch(() => {});
  return { pgdata, seeded, unlock };
}

/**
 * Takes `<dataDir>/parley.pid`; a lock left by a process that has died is taken over.
 * Synchronous: it runs first at start-up, so a first start's template copy can begin at once.
 */
function lockDataDir(dataDir: string): () => Promise<void> {
  const lockFile = path.join(dataDir, 'parley.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = openSync(lockFile, 'wx');
      try {
        writeFileSync(handle, String(process.pid));
      } finally {
        closeSync(handle);
      }
      return async () => {
        await unlink(lockFile).catch(() => {});
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readOrEmpty(lockFile).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new DataDirLockedError(
          `The data directory ${dataDir} is in use by another Parley process (pid ${owner}). ` +
            'PGlite serves one process; stop it, or set DATABASE_URL to share a PostgreSQL between processes.',
        );
      }
      try {
        unlinkSync(lockFile);
      } catch {
        // Another process took it over first: the next attempt finds its pid.
      }
    }
  }
  throw new DataDirLockedError(`Could not lock the data directory ${dataDir}`);
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
