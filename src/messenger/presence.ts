// Who is online: the answer to GET /users/presence, and the `userPresence` event to the
// people who share a chat with a user whose first socket opened or last socket closed.
import { aliasedTable, and, eq, inArray, max, ne } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { chatMembers, deviceSessions, users } from '../db/schema/index.ts';
import type { components } from '../generated/messenger.ts';
import type { Kernel } from '../kernel.ts';
import type { PresenceChange } from '../realtime/events.ts';

export type Presence = components['schemas']['Presence'];

/** Largest user id (a PostgreSQL integer): a bigger one is unknown, like any other absent id. */
const MAX_USER_ID = 2_147_483_647;

export async function presenceOf(k: Kernel, userIds: number[]): Promise<Presence[]> {
  const ids = [...new Set(userIds)].filter((id) => id <= MAX_USER_ID);
  if (ids.length === 0) return [];
  const rows = await k.db
    .select({ userId: users.id, lastSeen: max(deviceSessions.updatedAt) })
    .from(users)
    .leftJoin(deviceSessions, eq(deviceSessions.userId, users.id))
    .where(inArray(users.id, ids))
    .groupBy(users.id);
  const online = await k.realtime.onlineAmong(rows.map((row) => row.userId));
  return rows.map((row) => ({ userId: row.userId, isOnline: online.has(row.userId), ...(row.lastSeen ? { lastSeen: row.lastSeen.toISOString() } : {}) }));
}

/** Everyone who shares a chat with the user, neither side blocked in it. */
async function sharingAChat(db: Executor, userId: number): Promise<number[]> {
  const other = aliasedTable(chatMembers, 'other');
  const rows = await db
    .selectDistinct({ userId: other.userId })
    .from(chatMembers)
    .innerJoin(other, eq(other.chatId, chatMembers.chatId))
    .where(
      and(
        eq(chatMembers.userId, userId),
        ne(other.userId, userId),
        eq(chatMembers.isUserBlocked, false),
        eq(chatMembers.isChatBlocked, false),
        eq(other.isUserBlocked, false),
        eq(other.isChatBlocked, false),
      ),
    );
  return rows.map((row) => row.userId);
}

export async function announcePresence(k: Kernel, change: PresenceChange): Promise<void> {
  const userIds = await sharingAChat(k.db, change.userId);
  if (userIds.length === 0) return;
  const payload: Presence = { userId: change.userId, isOnline: change.isOnline, lastSeen: change.lastSeen.toISOString() };
  await k.realtime.publish({ userIds, event: { event: 'userPresence', source: String(change.userId), payload } });
}
