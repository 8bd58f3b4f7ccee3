// Password login shared by every surface: rate limits per (account, address), per account
// and per address, argon2id verification, and the second factor when the account has one.
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
 * A second factor the account may require after its password (TOTP, email): returns normally
 * when satisfied, throws an ApiError otherwise. `method` picks one (x-2fa-method).
 */
export type SecondFactorCheck = (user: UserRow, code: string | undefined, method?: string) => Promise<void>;

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
  const user = await findUserByLogin(db, attempt.login);
  // One account whether named by username or email, so alternating them gains no guesses.
  const account = user ? `user:${user.id}` : `login:${attempt.login.trim().toLowerCase()}`;
  const pair = `${account} ${attempt.ipAddress}`;
  // Counted before verifying, so parallel guesses cannot slip past the limit. In this order,
  // an address locked out of the account stops counting against the account's ceiling.
  await limiters.loginPerIp.consume(attempt.ipAddress);
  await limiters.loginPerAccountAddress.consume(pair);
  await limiters.loginPerAccount.consume(account);
  if (!(await verifySecret(user?.passwordHash, attempt.password, attempt.ipAddress)) || !user) throw new InvalidCredentialsError();
  // Only failures count: this address's are forgiven, and the success itself is given back.
  await Promise.all([
    limiters.loginPerAccountAddress.reset(pair),
    limiters.loginPerAccount.refund(account),
    limiters.loginPerIp.refund(attempt.ipAddress),
  ]);
  return user;
}
