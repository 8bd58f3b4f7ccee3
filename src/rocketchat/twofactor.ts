// Two-factor authentication: TOTP enrolment, confirmation, backup codes, email as a second
// factor (on/off, codes on request), and Rocket.Chat's shapes of the second-factor and
// fresh-proof rules of src/auth/second-factor.ts (codes are single use, attempts rate-limited there).
import { randomInt } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { generateSecret, generateURI } from 'otplib';
import { emailFactorOf, mailEmailCode, setEmailFactor } from '../auth/email-code.ts';
import { findUserByLogin } from '../auth/login.ts';
import { RateLimitedError } from '../auth/rate-limits.ts';
import {
  acceptTotp,
  BACKUP_CODE_LENGTH,
  checkEnabledCode,
  countGuess,
  forgetGuesses,
  ProofError,
  requireFreshProof,
  requireLoginCode,
  sha256,
  totpOf,
  type Challenge,
  type ProofMethod,
  type TotpRow,
} from '../auth/second-factor.ts';
import { revokeUserSessions, type AuthContext, type UserRow } from '../auth/sessions.ts';
import { totpEnrolments } from '../db/schema/index.ts';
import { ApiError } from '../http/errors.ts';
import type { Kernel } from '../kernel.ts';
import { rcError } from './errors.ts';

export { isTotpEnabled, totpOf } from '../auth/second-factor.ts';

const BACKUP_CODE_COUNT = 12;
// Meteor's Random.id alphabet, as Rocket.Chat's backup codes.
const BACKUP_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz';

function newBackupCodes(): string[] {
  return Array.from({ length: BACKUP_CODE_COUNT }, () =>
    Array.from({ length: BACKUP_CODE_LENGTH }, () => BACKUP_ALPHABET[randomInt(BACKUP_ALPHABET.length)]).join(''),
  );
}

/** Why a second factor was refused: Rocket.Chat's `totp-*` codes with their details. */
export class TwoFactorError extends ApiError {
  constructor(
    readonly kind: 'totp-required' | 'totp-invalid' | 'totp-max-attempts',
    readonly reason: string,
    details: Record<string, unknown>,
    retryAfter?: number,
  ) {
    super(kind === 'totp-max-attempts' ? 429 : 400, `${reason} [${kind}]`, kind, details, retryAfter);
  }
}

const REASONS = {
  'totp-required': 'TOTP Required',
  'totp-invalid': 'TOTP Invalid',
  // Rocket.Chat's spelling.
  'totp-max-attempts': 'TOTP Maximun Failed Attempts Reached',
} as const;

/** Rocket.Chat's `details`: `{method, codeGenerated, [emailOrUsername, codeExpires,] availableMethods}` when a code is asked for. */
function twoFactorError(kind: TwoFactorError['kind'], method: ProofMethod, retryAfter?: number, challenge?: Challenge): TwoFactorError {
  const details: Record<string, unknown> = { method, codeGenerated: challenge?.codeGenerated ?? false };
  if (kind === 'totp-required') {
    if (challenge?.emailOrUsername) details.emailOrUsername = challenge.emailOrUsername;
    if (challenge?.codeExpires) details.codeExpires = challenge.codeExpires;
    details.availableMethods = challenge?.availableMethods ?? (method === 'password' ? [] : [method]);
  }
  return new TwoFactorError(kind, REASONS[kind], details, retryAfter);
}

/** Rethrows a refusal of src/auth/second-factor.ts as Rocket.Chat's TwoFactorError. */
function inRocketChatTerms(error: unknown): never {
  if (error instanceof ProofError) throw twoFactorError(`totp-${error.failure}`, error.method, error.retryAfter, error.challenge);
  throw error;
}

/** The x-2fa-code and x-2fa-method headers. */
export interface TwoFactorProof {
  code?: string;
  method?: string;
}

/**
 * The second factor at login (every path): a user with TOTP or email on must present a
 * valid code; a user without passes. Throws TwoFactorError.
 */
export function checkLoginSecondFactor(k: Kernel, user: UserRow, proof: TwoFactorProof): Promise<void> {
  return requireLoginCode(k, user, proof.code, proof.method).catch(inRocketChatTerms);
}

/**
 * The x-2fa-code guard (Rocket.Chat's twoFactorRequired) of sensitive endpoints: the fresh
 * proof. With TOTP or email on the code is a code of it (x-2fa-method picks which); without,
 * the method is "password" and the code is the account password. Throws TwoFactorError.
 */
export function requireTwoFactor(k: Kernel, user: UserRow, proof: TwoFactorProof): Promise<void> {
  return requireFreshProof(k, user, { code: proof.code, method: proof.method }).catch(inRocketChatTerms);
}

const invalidTotp = () => rcError('', 'invalid-totp');

/** Starts enrolment after a fresh proof (the password): a new secret, pending until confirmed with a code. */
export async function enable(k: Kernel, auth: AuthContext, proof: TwoFactorProof): Promise<{ secret: string; url: string }> {
  const existing = await totpOf(k, auth.user.id);
  if (existing?.enabled) throw rcError('TOTP is already enabled', 'error-totp-already-enabled');
  await requireTwoFactor(k, auth.user, proof);
  const secret = generateSecret();
  await k.db
    .insert(totpEnrolments)
    .values({ userId: auth.user.id, tempSecret: secret, enabled: false })
    .onConflictDoUpdate({ target: totpEnrolments.userId, set: { tempSecret: secret, updatedAt: new Date() } });
  return { secret, url: generateURI({ issuer: k.config.serverName, label: auth.user.username, secret }) };
}

/** Confirms enrolment with a first code; the other sessions end; returns the backup codes. */
export async function validateTempToken(k: Kernel, auth: AuthContext, code: string): Promise<{ codes: string[] }> {
  const row = await totpOf(k, auth.user.id);
  if (!row?.tempSecret || row.enabled) throw invalidTotp();
  await countGuess(k, auth.user.id, 'totp').catch(inRocketChatTerms);
  if (!(await acceptTotp(k, row, row.tempSecret, code.trim()))) throw invalidTotp();
  await forgetGuesses(k, auth.user.id);
  const codes = newBackupCodes();
  await k.db.transaction(async (tx) => {
    const confirmed = await tx
      .update(totpEnrolments)
      .set({ enabled: true, secret: row.tempSecret, tempSecret: null, backupCodeHashes: codes.map(sha256), updatedAt: new Date() })
      .where(and(eq(totpEnrolments.userId, auth.user.id), eq(totpEnrolments.tempSecret, row.tempSecret!)))
      .returning({ userId: totpEnrolments.userId });
    if (confirmed.length !== 1) throw invalidTotp();
    await revokeUserSessions(tx, auth.user.id, auth.session.id);
  });
  return { codes };
}

/** A valid TOTP or backup code of an enabled enrolment (spent); over the guess limit: totp-max-attempts. */
function validCode(k: Kernel, row: TotpRow, code: string): Promise<boolean> {
  return checkEnabledCode(k, row, code).catch(inRocketChatTerms);
}

async function enabledRow(k: Kernel, userId: number): Promise<TotpRow> {
  const row = await totpOf(k, userId);
  if (!row?.enabled) throw invalidTotp();
  return row;
}

/** Turns TOTP off after a valid code; false when the code is wrong. */
export async function disable(k: Kernel, auth: AuthContext, code: string): Promise<boolean> {
  const row = await enabledRow(k, auth.user.id);
  if (!(await validCode(k, row, code))) return false;
  await k.db.delete(totpEnrolments).where(eq(totpEnrolments.userId, auth.user.id));
  return true;
}

/** New backup codes after a valid code; undefined when the code is wrong. */
export async function regenerateCodes(k: Kernel, auth: AuthContext, code: string): Promise<{ codes: string[] } | undefined> {
  const row = await enabledRow(k, auth.user.id);
  if (!(await validCode(k, row, code))) return undefined;
  const codes = newBackupCodes();
  await k.db
    .update(totpEnrolments)
    .set({ backupCodeHashes: codes.map(sha256), updatedAt: new Date() })
    .where(eq(totpEnrolments.userId, auth.user.id));
  return { codes };
}

export async function codesRemaining(k: Kernel, auth: AuthContext): Promise<{ remaining: number }> {
  const row = await enabledRow(k, auth.user.id);
  return { remaining: row.backupCodeHashes.length };
}

/** Removes a user's TOTP entirely; when there was one, every session of the user ends. */
export async function resetTotp(k: Kernel, userId: number): Promise<void> {
  await k.db.transaction(async (tx) => {
    const removed = await tx.delete(totpEnrolments).where(eq(totpEnrolments.userId, userId)).returning({ userId: totpEnrolments.userId });
    if (removed.length > 0) await revokeUserSessions(tx, userId);
  });
  k.authCache.forgetUser(userId);
}

/** users.2fa.enableEmail: the codes go to the verified address (without one the method stays unavailable, as in Rocket.Chat). */
export async function enableEmail(k: Kernel, auth: AuthContext): Promise<void> {
  await setEmailFactor(k, auth.user.id, true);
}

/** users.2fa.disableEmail: needs the fresh proof (Rocket.Chat's twoFactorRequired). */
export async function disableEmail(k: Kernel, auth: AuthContext, proof: TwoFactorProof): Promise<void> {
  await requireTwoFactor(k, auth.user, proof);
  await setEmailFactor(k, auth.user.id, false);
}

/**
 * users.2fa.sendEmailCode: mails a new code to the caller, or to the user named by username or
 * email. The answer never says whether that user exists or has email on; requests count per
 * client address (429 over it), codes per user (over it, nothing is sent).
 */
export async function sendEmailCode(k: Kernel, auth: AuthContext | undefined, emailOrUsername: string, clientAddress: string): Promise<void> {
  await k.limiters.emailCodes.consume(`ip:${clientAddress}`);
  const user = auth?.user ?? (await findUserByLogin(k.db, emailOrUsername));
  const factor = user && (await emailFactorOf(k, user.id));
  if (!user || !factor) return;
  try {
    await mailEmailCode(k, user.id, factor);
  } catch (error) {
    if (!(error instanceof RateLimitedError)) throw error;
    k.log.info({ userId: user.id }, 'two-factor code not mailed: the user\'s sends are used up');
  }
}
