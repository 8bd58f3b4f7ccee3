// argon2id on libuv's thread pool, so hashing never blocks the event loop.
import { availableParallelism } from 'node:os';
import { hash, verify, type Algorithm } from '@node-rs/argon2';
import { FairQueue, QueueFullError } from './fair-queue.ts';
import { reportRefusal } from '../http/metric-events.ts';
import { RateLimitedError } from './rate-limits.ts';

const ARGON2ID = 2 as Algorithm;
// Each hash takes a core for tens of milliseconds: a login storm must leave one core for
// everything else, so hashes queue beyond cores − 1 at once, and the queue is shared fairly
// between clients, so one address flooding registrations or resets cannot starve the others.
const hashing = new FairQueue(Math.max(1, availableParallelism() - 1), 64);

/** Hashes waiting for a slot (all clients), for /metrics. */
export const hashingQueueLength = () => hashing.pending;

/** The client of hashing done by the server itself (start-up administrator, admin CLI). */
export const LOCAL_CLIENT = 'local';

/** The hashing client of a signed-in account. */
export const accountClient = (userId: number) => `user:${userId}`;

/**
 * `client` shares the hashing queue fairly: the caller's address for requests without a
 * session (register, login, reset), `user:<id>` for a signed-in account (already limited
 * per account), LOCAL_CLIENT for the server's own work.
 */
async function onQueue<T>(client: string, job: () => Promise<T>): Promise<T> {
  try {
    return await hashing.run(client, job);
  } catch (error) {
    // Over its share of waiting hashes: the client is refused, not queued without bound.
    if (error instanceof QueueFullError) {
      reportRefusal('argon2-queue');
      throw new RateLimitedError(1);
    }
    throw error;
  }
}

// Verified against when the account does not exist, so timing does not reveal usernames.
const decoyHash = onQueue(LOCAL_CLIENT, () => hash('parley-decoy-password', { algorithm: ARGON2ID }));

export function hashSecret(secret: string, client: string): Promise<string> {
  return onQueue(client, () => hash(secret, { algorithm: ARGON2ID }));
}

export async function verifySecret(secretHash: string | null | undefined, secret: string, client: string): Promise<boolean> {
  const against = secretHash || (await decoyHash);
  const matches = await onQueue(client, () => verify(against, secret).catch(() => false));
  return Boolean(secretHash) && matches;
}
