// The first administrator: `npm run admin -- …` and PARLEY_ADMIN_USERNAME/PASSWORD at start-up.
import { eq, sql } from 'drizzle-orm';
import emailAddresses from 'email-addresses';
import { hashSecret, LOCAL_CLIENT } from '../auth/passwords.ts';
import type { Executor } from '../db/client.ts';
import { users } from '../db/schema/index.ts';

export type AdminResult = 'created' | 'promoted' | 'unchanged';

/** Gives an existing user the admin role. */
export async function promoteToAdmin(db: Executor, username: string): Promise<AdminResult | 'missing'> {
  const [user] = await db.select().from(users).where(eq(users.username, username.trim().toLowerCase())).limit(1);
  if (!user) return 'missing';
  if (user.roles.includes('admin')) return 'unchanged';
  await db
    .update(users)
    .set({ roles: sql`array_append(${users.roles}, 'admin')`, updatedAt: new Date() })
    .where(eq(users.id, user.id));
  return 'promoted';
}

/** A bare addr-spec (`user@example.org`: no display name, no spaces), at most 320 characters. */
export function isPlainAddress(address: string): boolean {
  const parsed = address.length <= 320 ? emailAddresses.parseOneAddress(address) : null;
  return parsed !== null && parsed.type === 'mailbox' && parsed.name === null && parsed.address === address && !/[\s<>]/.test(address);
}

/**
 * Sets a user's email address as verified (the operator vouches for it): it is then a login
 * name and, with users.2fa.enableEmail, where second-factor codes go.
 */
export async function setVerifiedEmail(db: Executor, username: string, address: string): Promise<'set' | 'missing'> {
  if (!isPlainAddress(address.trim())) throw new Error('Not a plain email address (user@example.org)');
  const updated = await db
    .update(users)
    .set({ email: address.trim().toLowerCase(), emailVerified: true, updatedAt: new Date() })
    .where(eq(users.username, username.trim().toLowerCase()))
    .returning({ id: users.id });
  return updated.length > 0 ? 'set' : 'missing';
}

/** Creates an administrator account, unless a user of that name exists (then it is left as is). */
export async function createAdmin(db: Executor, username: string, password: string, name = 'Administrator'): Promise<AdminResult> {
  const passwordHash = await hashSecret(password, LOCAL_CLIENT);
  const created = await db
    .insert(users)
    .values({ username: username.trim().toLowerCase(), name, passwordHash, roles: ['user', 'admin'] })
    .onConflictDoNothing()
    .returning({ id: users.id });
  return created.length > 0 ? 'created' : 'unchanged';
}
