// The second factor and the fresh proof every surface shares. A TOTP or emailed code is
// checked here (single use, rate-limited); the fresh proof is the one rule for operations a
// stolen token alone must not do: the current password, or with a second factor on a current code.
import { createHash } from 'node:crypto';
import { and, eq, isNull, lt, or, sql } from 'drizzle-orm';
import { verify } from 'otplib';
import { totpEnrolments, users } from '../db/schema/index.ts';
import { ApiError } from '../http/errors.ts';
import type { Kernel } from '../kernel.ts';
import { acceptEmailCode, challengeEmail, emailFactorOf, type EmailChallenge, type EmailFactor } from './email-code.ts';
import { accountClient, hashSecret, verifySecret } from './passwords.ts';
import { RateLimitedError } from './rate-limits.ts';
import type { UserRow } from './sessions.ts';
import { constantTimeEqual } from './tokens.ts';

export const BACKUP_CODE_LENGTH = 8;
/** One 30-second step either side of now (Rocket.Chat's MaxDelta 1). */
const EPOCH_TOLERANCE_SECONDS = 30;

export type TotpRow = typeof totpEnrolments.$inferSelect;

export const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

export async function totpOf(k: Kernel, userId: number): Promise<TotpRow | undefined> {
  const [row] = await k.db.select().from(totpEnrolments).where(eq(totpEnrolments.userId, userId)).limit(1);
  return row;
}

export async function isTotpEnabled(k: Kernel, userId: number): Promise<boolean> {
  return (await totpOf(k, userId))?.enabled === true;
}

/** Rocket.Chat's second-factor methods, in its order of preference. */
export type SecondFactorMethod = 'totp' | 'email';
export type ProofMethod = SecondFactorMethod | 'password';

const MESSAGES = {
  required: {
    totp: 'This needs a fresh proof: send a current two-factor code (X-2FA-Code)',
    email: 'This needs a fresh proof: send the code mailed to you (X-2FA-Code)',
    password: 'This needs a fresh proof: send the current password',
  },
  invalid: { totp: 'Invalid two-factor code', email: 'Invalid two-factor code', password: 'Invalid password' },
} as const;

/** What a refusal tells the client about the second factor (Rocket.Chat's `details`). */
export interface Challenge extends Partial<EmailChallenge> {
  /** The methods on for the user (never `password`). */
  availableMethods: SecondFactorMethod[];
}

/**
 * A second factor or fresh proof was missing (401), wrong (403) or guessed too often (429).
 * The messenger renders it as it is; Rocket.Chat maps it to its `totp-*` errors.
 */
export class ProofError extends ApiError {
  constructor(
    readonly failure: 'required' | 'invalid' | 'max-attempts',
    readonly method: ProofMethod,
    retryAfter?: number,
    readonly challenge?: Challenge,
  ) {
    super(
      failure === 'required' ? 401 : failure === 'invalid' ? 403 : 429,
      failure === 'max-attempts' ? `Too many wrong codes or passwords; try again in ${retryAfter ?? 1} s` : MESSAGES[failure][method],
      `proof-${failure}`,
      undefined,
      retryAfter,
    );
  }
}

/** Counts one guess of the user's code or password (the 2FA guess limiter); over it: max-attempts. */
export async function countGuess(k: Kernel, userId: number, method: ProofMethod): Promise<void> {
  try {
    await k.limiters.guesses.consume(`2fa:${userId}`);
  } catch (error) {
    if (error instanceof RateLimitedError) throw new ProofError('max-attempts', method, error.retryAfter);
    throw error;
  }
}

export const forgetGuesses = (k: Kernel, userId: number) => k.limiters.guesses.reset(`2fa:${userId}`);

/** Accepts a TOTP code of `secret` newer than the last accepted step, and records its step. */
export async function acceptTotp(k: Kernel, row: TotpRow, secret: string, code: string): Promise<boolean> {
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
const acceptTotpOrBackup = async (k: Kernel, row: TotpRow, code: string) =>
  (await acceptBackupCode(k, row, code)) || (await acceptTotp(k, row, row.secret!, code));

export async function checkEnabledCode(k: Kernel, row: TotpRow, code: string): Promise<boolean> {
  await countGuess(k, row.userId, 'totp');
  const valid = await acceptTotpOrBackup(k, row, code.trim());
  if (valid) await forgetGuesses(k, row.userId);
  return valid;
}

/** A user's second factors that are on: TOTP (enabled) and email (on, with a verified address). */
interface SecondFactors {
  totp?: TotpRow;
  email?: EmailFactor;
  methods: SecondFactorMethod[];
}

async function secondFactorsOf(k: Kernel, userId: number): Promise<SecondFactors> {
  const [row, email] = await Promise.all([totpOf(k, userId), emailFactorOf(k, userId)]);
  const totp = row?.enabled ? row : undefined;
  return { totp, email, methods: [...(totp ? ['totp' as const] : []), ...(email ? ['email' as const] : [])] };
}

/** The methods a user can answer a second-factor challenge with (Rocket.Chat's availableMethods). */
export async function availableMethods(k: Kernel, userId: number): Promise<SecondFactorMethod[]> {
  return (await secondFactorsOf(k, userId)).methods;
}

/**
 * A code of the chosen method: the one named (x-2fa-method) when it is on, else the first on
 * (TOTP, then email). Without a code the challenge mails one for the email method. Every
 * guess counts on the 2FA guess limiter; a success forgets the count.
 */
async function requireCode(k: Kernel, user: UserRow, factors: SecondFactors, code: string | undefined, method?: string): Promise<void> {
  const chosen = factors.methods.find((m) => m === method) ?? factors.methods[0];
  if (!code) {
    const emailed = chosen === 'email' ? await challengeEmail(k, user, factors.email!) : { codeGenerated: false };
    throw new ProofError('required', chosen, undefined, { ...emailed, availableMethods: factors.methods });
  }
  await countGuess(k, user.id, chosen);
  const trimmed = code.trim();
  const valid = chosen === 'totp' ? await acceptTotpOrBackup(k, factors.totp!, trimmed) : await acceptEmailCode(k, user.id, trimmed);
  if (!valid) throw new ProofError('invalid', chosen, undefined, { availableMethods: factors.methods });
  await forgetGuesses(k, user.id);
}

/**
 * The second factor at login (every path): a user with TOTP or email on must present a valid
 * code of it (`method` picks one, as x-2fa-method does).
 */
export async function requireLoginCode(k: Kernel, user: UserRow, code: string | undefined, method?: string): Promise<void> {
  const factors = await secondFactorsOf(k, user.id);
  if (factors.methods.length > 0) await requireCode(k, user, factors, code, method);
}

const SHA256_HEX = /^[0-9a-f]{64}$/i;

/**
 * Keeps an argon2id of the password's sha256 hex (once per password), so the digest that
 * Rocket.Chat clients send for the password method can be checked without the password.
 */
export async function rememberPasswordDigest(k: Kernel, user: UserRow, password: string): Promise<void> {
  if (user.passwordDigestHash) return;
  const passwordDigestHash = await hashSecret(sha256(password), accountClient(user.id));
  // Only for the password just checked: a concurrent change of password wins.
  await k.db
    .update(users)
    .set({ passwordDigestHash })
    .where(and(eq(users.id, user.id), eq(users.passwordHash, user.passwordHash)));
}

/** The password itself, or (Rocket.Chat's password method) its sha256 hex. */
async function passwordMatches(k: Kernel, user: UserRow, password: string): Promise<boolean> {
  const client = accountClient(user.id);
  if (SHA256_HEX.test(password)) {
    const [row] = await k.db.select({ digestHash: users.passwordDigestHash }).from(users).where(eq(users.id, user.id));
    if (row?.digestHash && (await verifySecret(row.digestHash, password.toLowerCase(), client))) return true;
  }
  return verifySecret(user.passwordHash, password, client);
}

export interface FreshProof {
  /** The account password (messenger bodies). */
  password?: string;
  /** X-2FA-Code: a TOTP, backup or emailed code, or without a second factor the password or its sha256 hex (Rocket.Chat's password method). */
  code?: string;
  /** X-2FA-Method: which second factor the code is of (`totp`, `email`); the first one on otherwise. */
  method?: string;
}

/**
 * The one rule for operations a stolen token alone must not do (enable TOTP, set keys,
 * delete the account…): with a second factor on (TOTP, email), a current code of it; without,
 * the current password (or its sha256 hex, as Rocket.Chat clients send it). A password that
 * is sent is checked even when a code is needed.
 * Every guess counts on the 2FA guess limiter; a success forgets the count.
 */
export async function requireFreshProof(k: Kernel, user: UserRow, proof: FreshProof): Promise<void> {
  const factors = await secondFactorsOf(k, user.id);
  const secondFactor = factors.methods.length > 0;
  const code = proof.code || undefined;
  if (secondFactor) await requireCode(k, user, factors, code, proof.method);
  const password = secondFactor ? proof.password || undefined : proof.password || code;
  if (password === undefined) {
    if (secondFactor) return;
    throw new ProofError('required', 'password', undefined, { availableMethods: [] });
  }
  await countGuess(k, user.id, 'password');
  if (!(await passwordMatches(k, user, password))) throw new ProofError('invalid', 'password');
  await forgetGuesses(k, user.id);
}
