// Roles and permissions: a permission is granted to roles (Rocket.Chat's defaults are
// stored at start-up); a user holds the permission when one of their roles has it.
import { and, eq } from 'drizzle-orm';
import type { UserRow } from '../auth/sessions.ts';
import type { Executor } from '../db/client.ts';
import { chatMembers, rocketchatPermissions } from '../db/schema/index.ts';
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

/** A chat member's role as Rocket.Chat's room-scoped role (a subscription's `roles`). */
const ROOM_ROLES = { owner: 'owner', admin: 'moderator', member: undefined } as const;

/** hasPermission(user, permission, rid): the user's global roles plus their role in that room. */
export async function hasRoomPermission(db: Executor, user: Pick<UserRow, 'id' | 'roles'>, permission: string, rid: string): Promise<boolean> {
  const [member] = await db
    .select({ role: chatMembers.role })
    .from(chatMembers)
    .where(and(eq(chatMembers.chatId, rid), eq(chatMembers.userId, user.id)))
    .limit(1);
  const roomRole = member ? ROOM_ROLES[member.role] : undefined;
  return hasPermission(db, { roles: roomRole ? [...user.roles, roomRole] : user.roles }, permission);
}

export async function requirePermission(db: Executor, user: Pick<UserRow, 'roles'>, permission: string): Promise<void> {
  if (!(await hasPermission(db, user, permission))) throw notAllowed();
}
