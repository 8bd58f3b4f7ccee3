// Invites by email (store-invite): a token, an ephemeral key pair whose private half is
// only emailed, signing for the invitee (sign-ed25519), and the key validity checks.
import { randomInt } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { constantTimeEqual } from '../auth/tokens.ts';
import { identityAssociations, identityEphemeralKeys, identityInvites } from '../db/schema/index.ts';
import { assertValidEmail, headerValue, MAX_EMAIL_LENGTH, sendTemplatedEmail } from './emails.ts';
import { invalidParam, matrixError, missingParams } from './errors.ts';
import { normaliseAddress } from './hashing.ts';
import { publicUrl, type IdentityService } from './service.ts';
import { decodeBase64, LONG_TERM_KEY_ID, newEphemeralKeyPair, signingKeyFromSeed, signJson, unpaddedBase64, unpaddedBase64Url } from './signing.ts';

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const TEMPLATE_KEYS = [
  'room_alias',
  'room_avatar_url',
  'room_join_rules',
  'room_name',
  'room_type',
  'sender_display_name',
  'sender_avatar_url',
  'guest_user_id',
  'guest_access_token',
];
/** Characters kept of each part of a redacted address: the seeds' `f...@b...`. */
const REDACT_KEEP = 1;

function redact(part: string, keep: number): string {
  if (part.length > keep) return `${part.slice(0, keep)}...`;
  if (part.length > 5) return `${part.slice(0, 3)}...`;
  if (part.length > 1) return `${part[0]}...`;
  return '...';
}

/** `foo@bar.baz` → `f...@b...`: shows the invitee which address without publishing it. */
export function redactAddress(address: string, keep = REDACT_KEEP): string {
  const at = address.indexOf('@');
  if (at < 0) return redact(address, keep);
  return `${redact(address.slice(0, at), keep)}@${redact(address.slice(at + 1), keep)}`;
}

const truncate = (value: string, max: number, keep: number) => (value.length > max ? `${value.slice(0, keep)}…` : value);

export interface StoreInviteInput {
  medium: string;
  address: string;
  room_id: string;
  sender: string;
  [extra: string]: unknown;
}

export interface StoredInvite {
  token: string;
  public_key: string;
  longTermKey: { public_key: string; key_validity_url: string };
  ephemeralKey: { public_key: string; key_validity_url: string };
  display_name: string;
}

const DEFAULT_WEB_CLIENT = 'https://app.element.io';

/**
 * Where the mailed link sends the invitee: an https: URL, and one of IDENTITY_WEB_CLIENT_LOCATIONS
 * when set (its first by default), so an invite cannot lead to a look-alike page or run script.
 */
function webClientLocation(s: IdentityService, value: unknown): string {
  const allowed = s.k.config.identity.webClientLocations;
  if (value === undefined) return allowed?.[0] ?? DEFAULT_WEB_CLIENT;
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || url.protocol !== 'https:' || url.username || url.password) throw invalidParam('org.matrix.web_client_location must be an https: URL');
  if (allowed && !allowed.includes(url.origin)) throw invalidParam('org.matrix.web_client_location is not a web client of this identity server');
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

/** `verifiedSender` is the v2 account: it must be the invite's sender. */
export async function storeInvite(s: IdentityService, input: StoreInviteInput, verifiedSender?: string): Promise<StoredInvite> {
  if (verifiedSender !== undefined && verifiedSender !== input.sender) throw matrixError(403, 'M_UNAUTHORIZED', "'sender' doesn't match");
  // Before any parsing (Sydent answers M_INVALID_PARAM too).
  if (input.address.length > MAX_EMAIL_LENGTH) throw invalidParam(`address is longer than ${MAX_EMAIL_LENGTH} characters`);
  const clientLocation = webClientLocation(s, input['org.matrix.web_client_location']);
  await s.limiters.emailPerClient.consume(`sender:${input.sender}`);
  const medium = input.medium;
  const address = normaliseAddress(medium, input.address);
  const [bound] = await s.k.db
    .select({ mxid: identityAssociations.mxid })
    .from(identityAssociations)
    .where(and(eq(identityAssociations.medium, medium), eq(identityAssociations.address, address)));
  if (bound) throw matrixError(400, 'M_THREEPID_IN_USE', 'Binding already known', { mxid: bound.mxid });
  if (medium !== 'email') throw matrixError(400, 'M_UNRECOGNIZED', `Didn't understand medium '${medium}'`);
  assertValidEmail(address);
  await s.limiters.emailPerAddress.consume(address);

  const token = Array.from({ length: 128 }, () => LETTERS[randomInt(LETTERS.length)]).join('');
  const ephemeral = newEphemeralKeyPair();
  // The request's fields, each under its own name (Sydent passes them all to the template)…
  const requested: Record<string, unknown> = { ...Object.fromEntries(TEMPLATE_KEYS.map((key) => [key, ''])), ...input };
  const text = (name: string) => (typeof requested[name] === 'string' ? (requested[name] as string) : '');
  const senderName = truncate(text('sender_display_name') || input.sender, 20, 19);
  const roomName = truncate(text('room_name'), 30, 25);
  const signurl = publicUrl(s, `/api/v1/sign-ed25519?${new URLSearchParams({ token, private_key: ephemeral.privateSeed })}`);
  // …and what the server sets, which no request field can replace.
  const substitutions: Record<string, string> = {
    address,
    token,
    ephemeral_private_key: ephemeral.privateSeed,
    sender_display_name: senderName,
    room_name: roomName,
    bracketed_room_name: roomName ? `(${roomName}) ` : '',
    bracketed_verified_sender: verifiedSender ? `(${verifiedSender}) ` : '',
    web_client_location: clientLocation,
    subject_header_value: headerValue(`${senderName} has invited you to ${text('room_type') === 'm.space' ? 'a space' : 'chat'}`),
    signurl,
  };

  await s.k.db.transaction(async (tx) => {
    await tx.insert(identityEphemeralKeys).values({ publicKey: ephemeral.publicKey });
    await tx.insert(identityInvites).values({ medium, address, roomId: input.room_id, sender: input.sender, token, ephemeralPublicKey: ephemeral.publicKey });
    // Inside the transaction: an invite nobody was told about is not stored.
    await sendTemplatedEmail(s, 'invite_template.eml.j2', address, substitutions, requested);
  });
  return {
    token,
    public_key: s.key.publicKey,
    longTermKey: { public_key: s.key.publicKey, key_validity_url: publicUrl(s, '/api/v1/pubkey/isvalid') },
    ephemeralKey: { public_key: ephemeral.publicKey, key_validity_url: publicUrl(s, '/api/v1/pubkey/ephemeral/isvalid') },
    display_name: redactAddress(input.address),
  };
}

/** Signs {mxid, sender, token} with the invitee's ephemeral private key. */
export async function signInvite(s: IdentityService, params: { mxid?: string; token?: string; private_key?: string }) {
  const missing = (['mxid', 'token', 'private_key'] as const).filter((name) => !params[name]);
  if (missing.length > 0) throw missingParams(missing);
  const { mxid, token, private_key: privateKey } = params as Required<typeof params>;
  const [invite] = await s.k.db.select({ sender: identityInvites.sender, token: identityInvites.token }).from(identityInvites).where(eq(identityInvites.token, token));
  if (!invite || !constantTimeEqual(invite.token, token)) throw matrixError(404, 'M_UNRECOGNIZED', "Didn't recognize token");
  const seed = decodeBase64(privateKey);
  if (seed.length !== 32) throw invalidParam('private_key is not an ed25519 key');
  return signJson({ mxid, sender: invite.sender, token }, s.serverName, signingKeyFromSeed(seed, LONG_TERM_KEY_ID));
}

export function publicKeyOf(s: IdentityService, keyId: string): { public_key: string } {
  if (keyId !== s.key.keyId) throw matrixError(404, 'M_NOT_FOUND', 'The public key was not found');
  return { public_key: s.key.publicKey };
}

export function isLongTermKeyValid(s: IdentityService, publicKey: string): { valid: boolean } {
  return { valid: unpaddedBase64(decodeBase64(publicKey)) === s.key.publicKey };
}

/** Valid until its invite is delivered to the homeserver; each check is counted. */
export async function isEphemeralKeyValid(s: IdentityService, publicKey: string): Promise<{ valid: boolean }> {
  const normalised = unpaddedBase64Url(decodeBase64(publicKey));
  const rows = await s.k.db
    .update(identityEphemeralKeys)
    .set({ verifyCount: sql`${identityEphemeralKeys.verifyCount} + 1` })
    .where(eq(identityEphemeralKeys.publicKey, normalised))
    .returning({ publicKey: identityEphemeralKeys.publicKey });
  return { valid: rows.length > 0 };
}
