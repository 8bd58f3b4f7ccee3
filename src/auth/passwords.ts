// argon2id on libuv's thread pool, so hashing never blocks the event loop.
import { availableParallelism } from 'node:os';
import { hash, verify, type Algorithm } from '@node-rs/argon2';
import pLimit from 'p-limit';

const ARGON2ID = 2 as Algorithm;
// Each hash takes a core for tens of milliseconds: a login storm must leave one core for
// everything else, so hashes queue beyond cores − 1 at once.
const hashing = pLimit(Math.max(1, availableParallelism() - 1));
// Verified against when the account does not exist, so timing does not reveal usernames.
const decoyHash = hashing(() => hash('parley-decoy-password', { algorithm: ARGON2ID }));

export function hashSecret(secret: string): Promise<string> {
  return hashing(() => hash(secret, { algorithm: ARGON2ID }));
}

export async function verifySecret(secretHash: string | null | undefined, secret: string): Promise<boolean> {
  const against = secretHash || (await decoyHash);
  const matches = await hashing(() => verify(against, secret)).catch(() => false);
  return Boolean(secretHash) && matches;
}
