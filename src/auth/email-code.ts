// Email as a second factor, as Rocket.Chat does it: a user who turned it on and has a verified
// address gets a 6-digit code by mail (shown as 123-456), one live code at a time, for
// TWO_FACTOR_EMAIL_CODE_TTL_SECONDS, single use, dropped after 5 wrong guesses. Codes are
// stored as argon2id: the code space is tiny, so only a slow hash keeps a leaked row from
// giving the live code away. Guesses count on the 2FA guess limiter (second-factor.ts).
import { randomInt } from 'node:crypto';
import { and, eq, gt, isNotNull, sql } from 'drizzle-orm';
import { emailTwoFactor, users } from '../db/schema/index.ts';
import { ApiError } from '../http/errors.ts';
import type { Kernel } from '../kernel.ts';
import { sendTemplatedMail } from '../mail/compose.ts';
import { accountClient, hashSecret, verifySecret } from './passwords.ts';
import { RateLimitedError } from './rate-limits.ts';

export const EMAIL_CODE_TEMPLATE = 'twofactor_email_code.eml.j2';
/** Rocket.Chat's Max_Invalid_Email_Code_Attempts: then the code is gone and a new one must be mailed. */
const MAX_WRONG_GUESSES = 5;
/** A challenge mails no new code while the live one has at least this long to go (Rocket.Chat's 5 minutes). */
const RESEND_AFTER_MS = 5 * 60_000;

export interface EmailFactor {
  /** The verified address the codes go to. */
  address: string;
  codeExpiresAt: Date | null;
}

/** The user's email second factor when it is on and their address is verified (Rocket.Chat's EmailCheck.isEnabled). */
export async function emailFactorOf(k: Kernel, userId: number): Promise<EmailFactor | undefined> {
  const [row] = await k.db
    .select({ address: users.email, verified: users.emailVerified, enabled: emailTwoFactor.enabled, codeExpiresAt: emailTwoFactor.codeExpiresAt })
    .from(users)
    .innerJoin(emailTwoFactor, eq(emailTwoFactor.userId, users.id))
    .where(eq(users.id, userId))
    .limit(1);
  if (!row?.enabled || !row.verified || !row.address) return undefined;
  return { address: row.address, codeExpiresAt: row.codeExpiresAt };
}

/** Rocket.Chat's services.email2fa.enabled: the user's switch (effective once the address is verified). */
export async function isEmailFactorOn(k: Kernel, userId: number): Promise<boolean> {
  const [row] = await k.db.select({ enabled: emailTwoFactor.enabled }).from(emailTwoFactor).where(eq(emailTwoFactor.userId, userId)).limit(1);
  return row?.enabled === true;
}

/** Turns email as a second factor on or off (Rocket.Chat's users.2fa.enableEmail / disableEmail); a live code goes. */
export async function setEmailFactor(k: Kernel, userId: number, enabled: boolean): Promise<void> {
  const values = { enabled, codeHash: null, codeExpiresAt: null, codeWrongGuesses: 0, updatedAt: new Date() };
  await k.db.insert(emailTwoFactor).values({ userId, ...values }).onConflictDoUpdate({ target: emailTwoFactor.userId, set: values });
}

export const emailCodeSendFailed = () => new ApiError(500, 'The code could not be mailed [error-email-send-failed]', 'error-email-send-failed');

/**
 * Mails a new code to the factor's address, replacing the live one. Counts on the per-user
 * send limiter: over it, nothing is sent and RateLimitedError is thrown.
 */
export async function mailEmailCode(k: Kernel, userId: number, factor: EmailFactor): Promise<Date> {
  await k.limiters.emailCodes.consume(`user:${userId}`);
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const codeExpiresAt = new Date(Date.now() + k.config.emailCode.ttlSeconds * 1000);
  const codeHash = await hashSecret(code, accountClient(userId));
  await k.db.update(emailTwoFactor).set({ codeHash, codeExpiresAt, codeWrongGuesses: 0, updatedAt: new Date() }).where(eq(emailTwoFactor.userId, userId));
  try {
    await sendTemplatedMail(k.mail, k.config.mail.from, EMAIL_CODE_TEMPLATE, factor.address, {
      code: `${code.slice(0, 3)}-${code.slice(3)}`,
      server_name: k.config.serverName,
      expires_minutes: String(Math.round(k.config.emailCode.ttlSeconds / 60)),
    });
  } catch (error) {
    k.log.error({ err: error }, 'mailing a two-factor code failed');
    throw emailCodeSendFailed();
  }
  return codeExpiresAt;
}

export interface EmailChallenge {
  codeGenerated: boolean;
  emailOrUsername: string;
  codeExpires?: string;
}

/**
 * Rocket.Chat's processInvalidCode: asked for a code it has not got, the server mails one,
 * unless a live code has more than 5 minutes to go or the user's sends are used up.
 */
export async function challengeEmail(k: Kernel, user: { id: number; username: string }, factor: EmailFactor): Promise<EmailChallenge> {
  const live = factor.codeExpiresAt && factor.codeExpiresAt.getTime() - Date.now() > RESEND_AFTER_MS;
  if (live) return { codeGenerated: false, emailOrUsername: user.username, codeExpires: factor.codeExpiresAt!.toISOString() };
  try {
    await mailEmailCode(k, user.id, factor);
    return { codeGenerated: true, emailOrUsername: user.username };
  } catch (error) {
    if (!(error instanceof RateLimitedError)) throw error;
    return { codeGenerated: false, emailOrUsername: user.username };
  }
}

/** True (and the code is spent) when `code` is the user's live code; a wrong one counts towards dropping it. */
export async function acceptEmailCode(k: Kernel, userId: number, code: string): Promise<boolean> {
  const digits = code.replace(/\D/g, '');
  const [row] = await k.db
    .select({ codeHash: emailTwoFactor.codeHash })
    .from(emailTwoFactor)
    .where(and(eq(emailTwoFactor.userId, userId), eq(emailTwoFactor.enabled, true), isNotNull(emailTwoFactor.codeHash), gt(emailTwoFactor.codeExpiresAt, new Date())))
    .limit(1);
  if (!row?.codeHash) return false;
  if (digits.length === 6 && (await verifySecret(row.codeHash, digits, accountClient(userId)))) {
    // Conditional: of two concurrent uses of one code, only one wins.
    const spent = await k.db
      .update(emailTwoFactor)
      .set({ codeHash: null, codeExpiresAt: null, codeWrongGuesses: 0, updatedAt: new Date() })
      .where(and(eq(emailTwoFactor.userId, userId), eq(emailTwoFactor.codeHash, row.codeHash)))
      .returning({ userId: emailTwoFactor.userId });
    return spent.length === 1;
  }
  await k.db
    .update(emailTwoFactor)
    .set({
      codeWrongGuesses: sql`${emailTwoFactor.codeWrongGuesses} + 1`,
      codeHash: sql`case when ${emailTwoFactor.codeWrongGuesses} + 1 >= ${MAX_WRONG_GUESSES} then null else ${emailTwoFactor.codeHash} end`,
    })
    .where(and(eq(emailTwoFactor.userId, userId), eq(emailTwoFactor.codeHash, row.codeHash)));
  return false;
}
