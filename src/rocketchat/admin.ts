// The first administrator: `npm run admin -- …` and PARLEY_ADMIN_USERNAME/PASSWORD at start-up.
import { eq, sql } from 'drizzle-orm';
import { hashSecret } from '../auth/passwords.ts';
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

/** Creates an administrator account, unless a user of that name exists (then it is left as is). */
export async function createAdmin(db: Executor, username: string, password: string, name = 'Administrator'): Promise<AdminResult> {
  const passwordHash = await hashSecret(password);
  const created = await db
    .insert(users)
    .values({ username: username.trim().toLowerCase(), name, passwordHash, roles: ['user', 'admin'] })
    .onConflictDoNothing()
    .returning({ id: users.id });
  return created.length > 0 ? 'created' : 'unchanged';
}
