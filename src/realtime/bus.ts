// The event bus between Parley processes: text on a channel reaches every process that
// listens on it (this one included). PostgreSQL LISTEN/NOTIFY does the distributed part.
import type { DatabaseHandle } from '../db/client.ts';
import { createLocalBus } from './local-bus.ts';
import { createPgBus } from './pg-bus.ts';

/** NOTIFY refuses payloads of 8000 bytes or more; bigger events travel by reference. */
export const NOTIFY_PAYLOAD_LIMIT = 7_900;

export interface EventBus {
  /** Delivers `payload` to every listener of `channel` in every process, this one included. */
  notify(channel: string, payload: string): Promise<void>;
  /** `onListen` runs each time the listening connection is (re)established: missed notifications are possible before it. */
  listen(channel: string, onMessage: (payload: string) => void, onListen?: () => void): Promise<void>;
  close(): Promise<void>;
}

export function createBus(database: DatabaseHandle): EventBus {
  if (database.kind === 'postgres' && database.postgres) return createPgBus(database.postgres);
  if (database.kind === 'pglite' && database.pglite) return createLocalBus(database.pglite);
  throw new Error('The database handle offers neither a postgres.js pool nor PGlite');
}
