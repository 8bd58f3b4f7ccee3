// Hashed lookups (v2): sha256("<address> <medium> <pepper>") in unpadded URL-safe base64,
// with one server pepper made at first start.
import { createHash, randomInt } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { identityHashing } from '../db/schema/index.ts';

const PEPPER_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function lookupHash(medium: string, address: string, pepper: string): string {
  return createHash('sha256').update(`${address} ${medium} ${pepper}`, 'utf8').digest('base64url');
}

/** Emails are case-folded (Sydent casefolds; lower-casing is the close approximation). */
export function normaliseAddress(medium: string, address: string): string {
  return medium === 'email' ? address.trim().toLowerCase() : address.trim();
}

export async function loadPepper(db: Database): Promise<string> {
  const pepper = Array.from({ length: 12 }, () => PEPPER_ALPHABET[randomInt(PEPPER_ALPHABET.length)]).join('');
  await db.insert(identityHashing).values({ id: 0, lookupPepper: pepper }).onConflictDoNothing();
  const [row] = await db.select().from(identityHashing).where(eq(identityHashing.id, 0));
  return row.lookupPepper;
}
