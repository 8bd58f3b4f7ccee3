// What the operator does to accounts from the command line (scripts/admin.ts): create, grant or
// withdraw the admin role, reset a forgotten password, end sessions, lift a lost second factor,
// list. The server's other processes hear every session ended through the change-notice triggers.
import { randomInt } from 'node:crypto';
import { asc, count, eq, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { deviceSessions, emailTwoFactor, totpEnrolments, users } from '../db/schema/index.ts';
import type { Kernel } from '../kernel.ts';
import { normalizeName } from '../messenger/users.ts';
import { resetTotp } from '../rocketchat/twofactor.ts';
import { setEmailFactor } from './email-code.ts';
import { hashSecret, LOCAL_CLIENT } from './passwords.ts';
import { revokeUserSessions, type UserRow } from './sessions.ts';

/** The messenger's account rules (openapi/messenger.yaml Username and Password). */
export const USERNAME_RULE = /^[A-Za-z][A-Za-z0-9]{4,24}$/;
export const PASSWORD_LENGTH = { min: 8, max: 25 };
/** PersonName: letters and the punctuation of real names, starting with a letter, at most 100. */
export const NAME_RULE = /^\s*\p{L}[\p{L}\p{M}\s'’.,-]*$/u;

/** No look-alikes (0/O, 1/l/I): the password is read off a terminal and typed or dictated. */
const PASSWORD_ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** 20 characters of a 56-letter alphabet from the CSPRNG: 116 bits, within the 25-character limit. */
export function oneTimePassword(length = 20): string {
  let password = '';
  for (let i = 0; i < length; i++) password += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  return password;
}

export async function findAccount(db: Executor, username: string): Promise<UserRow | undefined> {
  const [user] = await db.select().from(users).where(eq(users.username, username.trim().toLowerCase())).limit(1);
  return user;
}

export async function createAccount(db: Executor, input: { username: string; password: string; name: string; admin: boolean }): Promise<'created' | 'exists'> {
  const passwordHash = await hashSecret(input.password, LOCAL_CLIENT);
  const created = await db
    .insert(users)
    .values({ username: input.username.trim().toLowerCase(), name: normalizeName(input.name), passwordHash, roles: input.admin ? ['user', 'admin'] : ['user'] })
    .onConflictDoNothing()
    .returning({ id: users.id });
  return created.length > 0 ? 'created' : 'exists';
}

/** Withdraws the admin role (promoteToAdmin in src/rocketchat/admin.ts grants it). */
export async function removeAdminRole(db: Executor, user: UserRow): Promise<'removed' | 'unchanged'> {
  if (!user.roles.includes('admin')) return 'unchanged';
  await db
    .update(users)
    .set({ roles: sql`array_remove(${users.roles}, 'admin')`, updatedAt: new Date() })
    .where(eq(users.id, user.id));
  return 'removed';
}

/** Ends every session of the user; the count of sessions ended. */
export async function endAllSessions(db: Executor, userId: number): Promise<number> {
  return db.transaction(async (tx) => {
    const [{ sessions }] = await tx.select({ sessions: count() }).from(deviceSessions).where(eq(deviceSessions.userId, userId));
    await revokeUserSessions(tx, userId);
    return sessions;
  });
}

/** A new random password for a user who lost theirs; every session ends (whoever had the old one is out). */
export async function resetPasswordByOperator(db: Executor, userId: number): Promise<{ password: string; sessionsEnded: number }> {
  const password = oneTimePassword();
  const passwordHash = await hashSecret(password, LOCAL_CLIENT);
  const sessionsEnded = await db.transaction(async (tx) => {
    await tx.update(users).set({ passwordHash, passwordDigestHash: null, updatedAt: new Date() }).where(eq(users.id, userId));
    return endAllSessions(tx, userId);
  });
  return { password, sessionsEnded };
}

/**
 * Lifts the second factors of a locked-out user: TOTP removed (its sessions end, as when the
 * user resets it) and email codes off. What was on before, so the operator can tell the user.
 */
export async function disableSecondFactors(k: Pick<Kernel, 'db' | 'authCache'>, userId: number): Promise<{ totp: boolean; email: boolean }> {
  const [totp] = await k.db.select({ enabled: totpEnrolments.enabled }).from(totpEnrolments).where(eq(totpEnrolments.userId, userId));
  const [email] = await k.db.select({ enabled: emailTwoFactor.enabled }).from(emailTwoFactor).where(eq(emailTwoFactor.userId, userId));
  // Both only read db and authCache of the kernel.
  await resetTotp(k as Kernel, userId);
  if (email) await setEmailFactor(k as Kernel, userId, false);
  return { totp: Boolean(totp?.enabled), email: Boolean(email?.enabled) };
}

export interface AccountSummary {
  id: number;
  username: string;
  name: string;
  admin: boolean;
  email: string | null;
  sessions: number;
  totp: boolean;
  emailCodes: boolean;
  createdAt: Date;
}

export async function listAccounts(db: Executor, { adminsOnly = false } = {}): Promise<AccountSummary[]> {
  const rows = await db
    .select({
      id: users.id,
      username: users.username,
      name: users.name,
      roles: users.roles,
      email: users.email,
      createdAt: users.createdAt,
      sessions: sql<number>`(select count(*)::int from ${deviceSessions} where ${deviceSessions.userId} = ${users.id})`,
      totp: sql<boolean>`coalesce(${totpEnrolments.enabled}, false)`,
      emailCodes: sql<boolean>`coalesce(${emailTwoFactor.enabled}, false)`,
    })
    .from(users)
    .leftJoin(totpEnrolments, eq(totpEnrolments.userId, users.id))
    .leftJoin(emailTwoFactor, eq(emailTwoFactor.userId, users.id))
    .where(adminsOnly ? sql`'admin' = any(${users.roles})` : undefined)
    .orderBy(asc(users.id));
  return rows.map(({ roles, ...row }) => ({ ...row, admin: roles.includes('admin'), sessions: Number(row.sessions) }));
}
