// Matrix signing: canonical JSON, ed25519 signatures in unpadded base64, and the
// server's long-term key `ed25519:0`, made at first start and kept in the database.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import canonicalize from 'canonicalize';
import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { identityServerKeys } from '../db/schema/index.ts';

export const LONG_TERM_KEY_ID = 'ed25519:0';
// PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export type Signatures = Record<string, Record<string, string>>;
export type Signed<T> = T & { signatures: Signatures };

export const unpaddedBase64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
export const unpaddedBase64Url = (bytes: Buffer) => bytes.toString('base64url');
/** Accepts padded or unpadded, standard or URL-safe base64 (Node's decoder is lenient). */
export const decodeBase64 = (text: string) => Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');

function assertIntegers(value: unknown): void {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || Object.is(value, -0)) throw new TypeError(`Canonical JSON allows only integers, got ${value}`);
  } else if (Array.isArray(value)) value.forEach(assertIntegers);
  else if (value && typeof value === 'object') Object.values(value).forEach(assertIntegers);
}

/**
 * Matrix canonical JSON: RFC 8785 (sorted keys, no white space, raw UTF-8, JSON.stringify's
 * string escapes) restricted to integers as Matrix requires.
 */
export function canonicalJson(value: unknown): string {
  assertIntegers(value);
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('Value has no JSON form');
  return text;
}

export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
  /** Unpadded standard base64. */
  publicKey: string;
}

/** A signing key from its 32-byte seed (the form Matrix and Sydent keep). */
export function signingKeyFromSeed(seed: Buffer, keyId: string): SigningKey {
  if (seed.length !== 32) throw new RangeError('An ed25519 seed is 32 bytes');
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { keyId, privateKey, publicKey: unpaddedBase64(spki.subarray(spki.length - 32)) };
}

/** A fresh key pair: its seed and its public key, both as unpadded URL-safe base64 (store-invite's form). */
export function newEphemeralKeyPair(): { privateSeed: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return { privateSeed: jwk.d!, publicKey: unpaddedBase64Url(spki.subarray(spki.length - 32)) };
}

/** Adds `signatures[serverName][keyId]` over the object without `signatures` and `unsigned`. */
export function signJson<T extends object>(object: T, serverName: string, key: SigningKey): Signed<T> {
  const { signatures, unsigned, ...content } = object as T & { signatures?: Signatures; unsigned?: unknown };
  const signature = unpaddedBase64(sign(null, Buffer.from(canonicalJson(content), 'utf8'), key.privateKey));
  const merged: Signatures = { ...signatures, [serverName]: { ...signatures?.[serverName], [key.keyId]: signature } };
  return { ...(object as T), ...(unsigned !== undefined ? { unsigned } : {}), signatures: merged };
}

/** Whether `signatures[serverName][keyId]` verifies with the unpadded-base64 public key. */
export function verifySignedJson(object: Record<string, unknown>, serverName: string, keyId: string, publicKey: string): boolean {
  const { signatures, unsigned: _unsigned, ...content } = object as { signatures?: Signatures; unsigned?: unknown };
  const signature = signatures?.[serverName]?.[keyId];
  if (typeof signature !== 'string') return false;
  const raw = decodeBase64(publicKey);
  if (raw.length !== 32) return false;
  const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
  try {
    return verify(null, Buffer.from(canonicalJson(content), 'utf8'), key, decodeBase64(signature));
  } catch {
    return false;
  }
}

/** The long-term key: made once (whichever process starts first wins), then read by all. */
export async function loadServerKey(db: Database): Promise<SigningKey> {
  const seed = randomBytes(32);
  const fresh = signingKeyFromSeed(seed, LONG_TERM_KEY_ID);
  await db
    .insert(identityServerKeys)
    .values({ keyId: LONG_TERM_KEY_ID, privateSeed: unpaddedBase64(seed), publicKey: fresh.publicKey })
    .onConflictDoNothing();
  const [row] = await db.select().from(identityServerKeys).where(eq(identityServerKeys.keyId, LONG_TERM_KEY_ID));
  return signingKeyFromSeed(decodeBase64(row.privateSeed), row.keyId);
}
