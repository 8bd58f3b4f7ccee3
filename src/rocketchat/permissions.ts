// Roles and permissions: a permission is granted to roles (Rocket.Chat's defaults are
// stored at start-up); a user holds the permission when one of their roles has it.
import { eq } from 'drizzle-orm';
import type { UserRow } from '../auth/sessions.ts';
import type { Executor } from '../db/client.ts';
import { rocketchatPermissions } from '../db/schema/index.ts';
import { notAllowed } from './errors.ts';

/** Rocket.Chat's shipped grants for the permissions this surface checks. */
export const DEFAULT_PERMISSIONS: Record<string, string[]> = {
  'edit-other-user-e2ee': ['admin'],
  'edit-other-user-totp': ['admin'],
  'logout-other-user': ['admin'],
  'toggle-room-e2e-encryption': ['owner', 'admin'],
  'api-bypass-rate-limit': ['admin', 'bot', 'app'],
  'view-c-room': ['admin', 'user', 'bot', 'app', 'anonymous'],
  'view-joined-room': ['guest', 'bot', 'app', 'anonymous'],
};

/** Inserts the default grant of every permission not stored yet (an administrator's changes stay). */
export async function ensureDefaultPermissions(db: Executor): Promise<void> {
  await db
    .insert(rocketchatPermissions)
    .values(Object.entries(DEFAULT_PERMISSIONS).map(([id, roles]) => ({ id, roles })))
    .onConflictDoNothing();
}

export async function hasPermission(db: Executor, user: Pick<UserRow, 'roles'>, permission: string): Promise<boolean> {
  const [row] = await db.select({ roles: rocketchatPermissions.roles }).from(rocketchatPermissions).where(eq(rocketchatPermissions.id, permission)).limit(1);
  return Boolean(row?.roles.some((role) => user.roles.includes(role)));
}

export async function requirePermission(db: Executor, user: Pick<UserRow, 'roles'>, permission: string): Promise<void> {
  if (!(await hasPermission(db, user, permission))) throw notAllowed();
}
