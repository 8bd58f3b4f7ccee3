// Password login shared by every surface: rate limits per account and per IP, argon2id
// verification, and the second factor when the account has one.
import { eq, or } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { users } from '../db/schema/index.ts';
import { ApiError } from '../http/errors.ts';
import { verifySecret } from './passwords.ts';
import type { Limiters } from './rate-limits.ts';
import type { UserRow } from './sessions.ts';

export class InvalidCredentialsError extends ApiError {
  constructor() {
    super(401, 'Invalid user or password.', 'invalid-credentials');
  }
}

/**
 * A second factor the account may require after its password (TOTP): returns normally
 * when satisfied, throws an ApiError otherwise.
 */
export type SecondFactorCheck = (user: UserRow, code: string | undefined) => Promise<void>;

export interface PasswordLogin {
  /** Username, or email when the account has one. */
  login: string;
  password: string;
  ipAddress: string;
}

export async function findUserByLogin(db: Database, login: string): Promise<UserRow | undefined> {
  const normalized = login.trim().toLowerCase();
  const [user] = await db
    .select()
    .from(users)
    .where(or(eq(users.username, normalized), eq(users.email, normalized)))
    .limit(1);
  return user;
}

export async function authenticatePassword(db: Database, limiters: Limiters, attempt: PasswordLogin): Promise<UserRow> {
  const account = attempt.login.trim().toLowerCase();
  await limiters.loginPerIp.consume(attempt.ipAddress);
  await limiters.loginPerAccount.consume(account);
  const user = await findUserByLogin(db, account);
  if (!(await verifySecret(user?.passwordHash, attempt.password)) || !user) throw new InvalidCredentialsError();
  await limiters.loginPerAccount.reset(account);
  return user;
}
