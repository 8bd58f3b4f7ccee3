// argon2id on libuv's thread pool, so hashing never blocks the event loop.
import { hash, verify, type Algorithm } from '@node-rs/argon2';

const ARGON2ID = 2 as Algorithm;
// Verified against when the account does not exist, so timing does not reveal usernames.
const decoyHash = hash('parley-decoy-password', { algorithm: ARGON2ID });

export function hashSecret(secret: string): Promise<string> {
  return hash(secret, { algorithm: ARGON2ID });
}

export async function verifySecret(secretHash: string | null | undefined, secret: string): Promise<boolean> {
  if (!secretHash) {
    await verify(await decoyHash, secret).catch(() => false);
    return false;
  }
  return verify(secretHash, secret).catch(() => false);
}
