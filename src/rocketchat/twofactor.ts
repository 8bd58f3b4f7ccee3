// TOTP two-factor authentication: enrolment, confirmation, backup codes, the code check
// every login path and every 2FA-guarded endpoint runs. Codes are single use: a TOTP
// step or backup code accepted once is refused afterwards. Attempts are rate-limited.
import { createHash, randomInt } from 'node:crypto';
import { and, eq, isNull, lt, or, sql } from 'drizzle-orm';
import { generateSecret, generateURI, verify } from 'otplib';
import { verifySecret } from '../auth/passwords.ts';
import { RateLimitedError } from '../auth/rate-limits.ts';
import { revokeUserSessions, type AuthContext, type UserRow } from '../auth/sessions.ts';
import { constantTimeEqual } from '../auth/tokens.ts';
import { totpEnrolments } from '../db/schema/index.ts';
import { ApiError } from '../http/errors.ts';
import type { Kernel } from '../kernel.ts';
import { rcError } from './errors.ts';

const BACKUP_CODE_COUNT = 12;
const BACKUP_CODE_LENGTH = 8;
// Meteor's Random.id alphabet, as Rocket.Chat's backup codes.
const BACKUP_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz';
/** One 30-second step either side of now (Rocket.Chat's MaxDelta 1). */
const EPOCH_TOLERANCE_SECONDS = 30;

export type TotpRow = typeof totpEnrolments.$inferSelect;

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

function newBackupCodes(): string[] {
  return Array.from({ length: BACKUP_CODE_COUNT }, () =>
    Array.from({ length: BACKUP_CODE_LENGTH }, () => BACKUP_ALPHABET[randomInt(BACKUP_ALPHABET.length)]).join(''),
  );
}

export async function totpOf(k: Kernel, userId: number): Promise<TotpRow | undefined> {
  const [row] = await k.db.select().from(totpEnrolments).where(eq(totpEnrolments.userId, userId)).limit(1);
  return row;
}

export async function isTotpEnabled(k: Kernel, userId: number): Promise<boolean> {
  return (await totpOf(k, userId))?.enabled === true;
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

function twoFactorError(kind: TwoFactorError['kind'], method: 'totp' | 'password', retryAfter?: number): TwoFactorError {
  const details: Record<string, unknown> = { method, codeGenerated: false };
  if (kind === 'totp-required') details.availableMethods = method === 'totp' ? ['totp'] : [];
  return new TwoFactorError(kind, REASONS[kind], details, retryAfter);
}

/** Counts one guess; a caller over the limit gets totp-max-attempts. */
async function countAttempt(k: Kernel, userId: number, method: 'totp' | 'password') {
  try {
    await k.limiters.guesses.consume(`2fa:${userId}`);
  } catch (error) {
    if (error instanceof RateLimitedError) throw twoFactorError('totp-max-attempts', method, error.retryAfter);
    throw error;
  }
}

/** Accepts a TOTP code of `secret` newer than the last accepted step, and records its step. */
async function acceptTotp(k: Kernel, row: TotpRow, secret: string, code: string): Promise<boolean> {
  if (!/^\d{6}$/.test(code)) return false;
  const result = await verify({
    secret,
    token: code,
    epochTolerance: EPOCH_TOLERANCE_SECONDS,
    ...(row.lastTimeStep !== null ? { afterTimeStep: row.lastTimeStep } : {}),
  });
  if (!result.valid || !('timeStep' in result)) return false;
  const timeStep = result.timeStep;
  // Conditional update: of two concurrent uses of one code, only one wins.
  const updated = await k.db
    .update(totpEnrolments)
    .set({ lastTimeStep: timeStep })
    .where(
      and(
        eq(totpEnrolments.userId, row.userId),
        or(isNull(totpEnrolments.lastTimeStep), lt(totpEnrolments.lastTimeStep, timeStep)),
      ),
    )
    .returning({ userId: totpEnrolments.userId });
  return updated.length === 1;
}

/** Spends a backup code: compared in constant time, removed so it cannot be used again. */
async function acceptBackupCode(k: Kernel, row: TotpRow, code: string): Promise<boolean> {
  if (code.length !== BACKUP_CODE_LENGTH) return false;
  const hash = sha256(code);
  let found = false;
  for (const stored of row.backupCodeHashes) found = constantTimeEqual(stored, hash) || found;
  if (!found) return false;
  const updated = await k.db
    .update(totpEnrolments)
    .set({ backupCodeHashes: sql`array_remove(${totpEnrolments.backupCodeHashes}, ${hash})` })
    .where(and(eq(totpEnrolments.userId, row.userId), sql`${hash} = any(${totpEnrolments.backupCodeHashes})`))
    .returning({ userId: totpEnrolments.userId });
  return updated.length === 1;
}

/** Checks a code (TOTP or backup) of an enabled enrolment: rate-limited, single use. */
async function checkEnabledCode(k: Kernel, row: TotpRow, code: string): Promise<boolean> {
  await countAttempt(k, row.userId, 'totp');
  const trimmed = code.trim();
  const valid = (await acceptBackupCode(k, row, trimmed)) || (await acceptTotp(k, row, row.secret!, trimmed));
  if (valid) await k.limiters.guesses.reset(`2fa:${row.userId}`);
  return valid;
}

/**
 * The second factor at login (every path): a user with TOTP on must present a valid
 * code; a user without it passes. Throws TwoFactorError.
 */
export async function checkLoginSecondFactor(k: Kernel, user: UserRow, code: string | undefined): Promise<void> {
  const row = await totpOf(k, user.id);
  if (!row?.enabled) return;
  if (!code) throw twoFactorError('totp-required', 'totp');
  if (!(await checkEnabledCode(k, row, code))) throw twoFactorError('totp-invalid', 'totp');
}

/**
 * The x-2fa-code guard of sensitive endpoints. With TOTP on the code is a TOTP or backup
 * code; without TOTP the fallback method is "password" and the code is the account password.
 */
export async function requireTwoFactor(k: Kernel, user: UserRow, code: string | undefined): Promise<void> {
  const row = await totpOf(k, user.id);
  if (row?.enabled) return checkLoginSecondFactor(k, user, code);
  if (!code) throw twoFactorError('totp-required', 'password');
  await countAttempt(k, user.id, 'password');
  if (!(await verifySecret(user.passwordHash, code))) throw twoFactorError('totp-invalid', 'password');
  await k.limiters.guesses.reset(`2fa:${user.id}`);
}

const invalidTotp = () => rcError('', 'invalid-totp');

/** Starts enrolment: a new secret, pending until confirmed with a code. */
export async function enable(k: Kernel, auth: AuthContext): Promise<{ secret: string; url: string }> {
  const existing = await totpOf(k, auth.user.id);
  if (existing?.enabled) throw rcError('TOTP is already enabled', 'error-totp-already-enabled');
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
  await countAttempt(k, auth.user.id, 'totp');
  if (!(await acceptTotp(k, row, row.tempSecret, code.trim()))) throw invalidTotp();
  await k.limiters.guesses.reset(`2fa:${auth.user.id}`);
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

async function enabledRow(k: Kernel, userId: number): Promise<TotpRow> {
  const row = await totpOf(k, userId);
  if (!row?.enabled) throw invalidTotp();
  return row;
}

/** Turns TOTP off after a valid code; false when the code is wrong. */
export async function disable(k: Kernel, auth: AuthContext, code: string): Promise<boolean> {
  const row = await enabledRow(k, auth.user.id);
  if (!(await checkEnabledCode(k, row, code))) return false;
  await k.db.delete(totpEnrolments).where(eq(totpEnrolments.userId, auth.user.id));
  return true;
}

/** New backup codes after a valid code; undefined when the code is wrong. */
export async function regenerateCodes(k: Kernel, auth: AuthContext, code: string): Promise<{ codes: string[] } | undefined> {
  const row = await enabledRow(k, auth.user.id);
  if (!(await checkEnabledCode(k, row, code))) return undefined;
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
