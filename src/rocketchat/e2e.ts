// Rocket.Chat's E2E key API over Parley's data: a user's key pair (e2e_user_keys), a
// room's key id (chats.e2e_key_id) and each member's copy of the room key
// (chat_members.e2e_key / e2e_suggested_key). Key changes reach members after commit.
import { and, eq, inArray, isNotNull, isNull, ne, sql } from 'drizzle-orm';
import { revokeUserSessions, type AuthContext } from '../auth/sessions.ts';
import { ApiError } from '../http/errors.ts';
import type { Executor } from '../db/client.ts';
import { chatMembers, chats, e2eUserKeys } from '../db/schema/index.ts';
import type { Kernel } from '../kernel.ts';
import { rcError } from './errors.ts';
import { hasRoomPermission } from './permissions.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const WAITING_PER_ROOM = 50;

/** A Rocket.Chat user id (a string) as Parley's integer id, or undefined. */
export function parseUserId(value: string): number | undefined {
  return /^\d{1,9}$/.test(value.trim()) ? Number(value.trim()) : undefined;
}

const invalidRoom = (method: string) => rcError('Invalid room', 'error-invalid-room', { method });

/** canAccessRoom: a Parley chat is readable by its members only. Unknown or foreign ids are not. */
async function isMember(db: Executor, userId: number, rid: string): Promise<boolean> {
  if (!UUID.test(rid)) return false;
  const [row] = await db
    .select({ userId: chatMembers.userId })
    .from(chatMembers)
    .where(and(eq(chatMembers.chatId, rid), eq(chatMembers.userId, userId)))
    .limit(1);
  return Boolean(row);
}

async function membersOf(db: Executor, rids: string[]): Promise<Map<string, number[]>> {
  const byRoom = new Map<string, number[]>();
  if (rids.length === 0) return byRoom;
  const rows = await db.select({ chatId: chatMembers.chatId, userId: chatMembers.userId }).from(chatMembers).where(inArray(chatMembers.chatId, rids));
  for (const row of rows) byRoom.set(row.chatId, [...(byRoom.get(row.chatId) ?? []), row.userId]);
  return byRoom;
}

async function publishTo(k: Kernel, userIds: number[], event: string, source: number | 'system', payload: unknown, chatId?: string) {
  if (userIds.length === 0) return;
  await k.realtime.publish({ userIds, event: { event, source: String(source), payload }, chatId });
}

export async function fetchMyKeys(k: Kernel, auth: AuthContext): Promise<{ public_key?: string; private_key?: string }> {
  const [row] = await k.db.select().from(e2eUserKeys).where(eq(e2eUserKeys.userId, auth.user.id)).limit(1);
  return row ? { public_key: row.publicKey, private_key: row.privateKey } : {};
}

/**
 * Stores the caller's key pair (refused when set, unless forced), then asks the members of
 * the caller's E2E rooms that the caller holds no key for to hand one over.
 */
export async function setUserKeys(k: Kernel, auth: AuthContext, keys: { public_key: string; private_key: string; force?: boolean }): Promise<void> {
  const userId = auth.user.id;
  const values = { userId, publicKey: keys.public_key, privateKey: keys.private_key, updatedAt: new Date() };
  const stored = keys.force
    ? await k.db.insert(e2eUserKeys).values(values).onConflictDoUpdate({ target: e2eUserKeys.userId, set: values }).returning()
    : await k.db.insert(e2eUserKeys).values(values).onConflictDoNothing().returning();
  if (stored.length === 0) throw rcError('Keys already set', 'error-keys-already-set', { method: 'e2e.setUserPublicAndPrivateKeys' });
  await requestKeys(k, userId);
}

/** Members of a room with a public key and no copy of the room key. */
export async function usersOfRoomWithoutKey(k: Kernel, auth: AuthContext, rid: string) {
  if (!(await isMember(k.db, auth.user.id, rid))) throw invalidRoom('e2e.getUsersOfRoomWithoutKey');
  const rows = await k.db
    .select({ userId: chatMembers.userId, publicKey: e2eUserKeys.publicKey })
    .from(chatMembers)
    .innerJoin(e2eUserKeys, eq(e2eUserKeys.userId, chatMembers.userId))
    .where(and(eq(chatMembers.chatId, rid), isNull(chatMembers.e2eKey)))
    .orderBy(chatMembers.userId);
  return { users: rows.map((row) => ({ _id: String(row.userId), e2e: { public_key: row.publicKey } })) };
}

/** Own uid: sets the caller's copy. Another member: suggests the key to them. Not a member: nothing. */
export async function updateGroupKey(k: Kernel, auth: AuthContext, input: { rid: string; uid: string; key: string }): Promise<void> {
  if (!(await isMember(k.db, auth.user.id, input.rid))) return;
  const target = parseUserId(input.uid);
  if (target === undefined) return;
  const own = target === auth.user.id;
  const updated = await k.db
    .update(chatMembers)
    .set(own ? { e2eKey: input.key } : { e2eSuggestedKey: input.key })
    .where(and(eq(chatMembers.chatId, input.rid), eq(chatMembers.userId, target)))
    .returning({ userId: chatMembers.userId });
  if (!own && updated.length > 0) await publishTo(k, [target], 'e2eSuggestedKey', auth.user.id, { rid: input.rid }, input.rid);
}

/** Sets a room's key id, once; members learn it over the realtime channel. */
export async function setRoomKeyId(k: Kernel, auth: AuthContext, rid: string, keyId: string): Promise<void> {
  if (!(await isMember(k.db, auth.user.id, rid))) throw invalidRoom('canAccessRoom');
  const updated = await k.db
    .update(chats)
    .set({ e2eKeyId: keyId, updatedAt: new Date() })
    .where(and(eq(chats.id, rid), isNull(chats.e2eKeyId)))
    .returning({ id: chats.id });
  if (updated.length === 0) {
    throw rcError('E2E Key ID already exists', 'error-room-e2e-key-already-exists', { method: 'e2e.setRoomKeyID' });
  }
  const members = (await membersOf(k.db, [rid])).get(rid) ?? [];
  await publishTo(k, members, 'e2eKeyId', auth.user.id, { rid, e2eKeyId: keyId }, rid);
}

/**
 * For each E2E room where the user holds no room key, asks the other members for it
 * (`e2eKeyRequest` {rid, e2eKeyId, userId}).
 */
export async function requestKeys(k: Kernel, userId: number): Promise<void> {
  const rooms = await k.db
    .select({ rid: chats.id, e2eKeyId: chats.e2eKeyId })
    .from(chatMembers)
    .innerJoin(chats, eq(chats.id, chatMembers.chatId))
    .where(and(eq(chatMembers.userId, userId), isNull(chatMembers.e2eKey), isNotNull(chats.e2eKeyId)));
  const members = await membersOf(k.db, rooms.map((room) => room.rid));
  for (const room of rooms) {
    const others = (members.get(room.rid) ?? []).filter((id) => id !== userId);
    await publishTo(k, others, 'e2eKeyRequest', userId, { rid: room.rid, e2eKeyId: room.e2eKeyId, userId: String(userId) }, room.rid);
  }
}

async function suggestion(k: Kernel, auth: AuthContext, rid: string, method: string) {
  const [row] = UUID.test(rid)
    ? await k.db
        .select({ suggested: chatMembers.e2eSuggestedKey })
        .from(chatMembers)
        .where(and(eq(chatMembers.chatId, rid), eq(chatMembers.userId, auth.user.id)))
        .limit(1)
    : [];
  if (!row) throw rcError('Subscription not found', 'error-subscription-not-found', { method });
  const suggested = row.suggested?.trim();
  if (!suggested) throw rcError('No suggested key available', 'error-no-suggested-key-available', { method });
  return suggested;
}

export async function acceptSuggestedKey(k: Kernel, auth: AuthContext, rid: string): Promise<void> {
  const key = await suggestion(k, auth, rid, 'e2e.acceptSuggestedGroupKey');
  await k.db
    .update(chatMembers)
    .set({ e2eKey: key, e2eSuggestedKey: null })
    .where(and(eq(chatMembers.chatId, rid), eq(chatMembers.userId, auth.user.id)));
}

export async function rejectSuggestedKey(k: Kernel, auth: AuthContext, rid: string): Promise<void> {
  await suggestion(k, auth, rid, 'e2e.rejectSuggestedGroupKey');
  await k.db
    .update(chatMembers)
    .set({ e2eSuggestedKey: null })
    .where(and(eq(chatMembers.chatId, rid), eq(chatMembers.userId, auth.user.id)));
}

/** The caller's rooms among `rids` (others are silently left out). */
async function accessibleRooms(db: Executor, userId: number, rids: string[]): Promise<string[]> {
  const candidates = [...new Set(rids.filter((rid) => UUID.test(rid)))];
  if (candidates.length === 0) return [];
  const rows = await db
    .select({ chatId: chatMembers.chatId })
    .from(chatMembers)
    .where(and(eq(chatMembers.userId, userId), inArray(chatMembers.chatId, candidates)));
  return rows.map((row) => row.chatId);
}

export async function usersWaitingForGroupKey(k: Kernel, auth: AuthContext, roomIds: string[]) {
  const rooms = await accessibleRooms(k.db, auth.user.id, roomIds);
  const waiting: Record<string, { _id: string; public_key: string }[]> = {};
  if (rooms.length === 0) return { usersWaitingForE2EKeys: waiting };
  const rows = await k.db
    .select({ chatId: chatMembers.chatId, userId: chatMembers.userId, publicKey: e2eUserKeys.publicKey })
    .from(chatMembers)
    .innerJoin(e2eUserKeys, eq(e2eUserKeys.userId, chatMembers.userId))
    .where(
      and(
        inArray(chatMembers.chatId, rooms),
        ne(chatMembers.userId, auth.user.id),
        isNull(chatMembers.e2eKey),
        isNull(chatMembers.e2eSuggestedKey),
      ),
    )
    .orderBy(chatMembers.chatId, chatMembers.userId);
  for (const row of rows) {
    const list = (waiting[row.chatId] ??= []);
    if (list.length < WAITING_PER_ROOM) list.push({ _id: String(row.userId), public_key: row.publicKey });
  }
  return { usersWaitingForE2EKeys: waiting };
}

/** Suggests room keys to members of the caller's rooms, in one statement; other rooms and non-members are skipped. */
export async function provideSuggestedKeys(k: Kernel, auth: AuthContext, byRoom: Record<string, { _id: string; key: string }[]>): Promise<void> {
  const rooms = new Set(await accessibleRooms(k.db, auth.user.id, Object.keys(byRoom)));
  const entries = Object.entries(byRoom)
    .filter(([rid]) => rooms.has(rid))
    .flatMap(([rid, list]) => list.map((entry) => ({ rid, userId: parseUserId(entry._id), key: entry.key })))
    .filter((entry): entry is { rid: string; userId: number; key: string } => entry.userId !== undefined);
  if (entries.length === 0) return;
  const values = sql.join(
    entries.map((entry) => sql`(${entry.rid}::uuid, ${entry.userId}::integer, ${entry.key}::text)`),
    sql`, `,
  );
  const updated = await k.db.execute<{ user_id: number; chat_id: string }>(sql`
    update ${chatMembers} set e2e_suggested_key = v.key
    from (values ${values}) as v(chat_id, user_id, key)
    where ${chatMembers.chatId} = v.chat_id and ${chatMembers.userId} = v.user_id
    returning ${chatMembers.userId} as user_id, ${chatMembers.chatId} as chat_id`);
  const rows = Array.isArray(updated) ? updated : ((updated as { rows?: { user_id: number; chat_id: string }[] }).rows ?? []);
  for (const row of rows) await publishTo(k, [row.user_id], 'e2eSuggestedKey', auth.user.id, { rid: row.chat_id }, row.chat_id);
}

/**
 * Forgets a user's key pair and every copy of a room key they held, and ends all their
 * sessions (their clients must log in and set up keys again). Members of their E2E rooms
 * are asked to provide the user a new key once the user has one.
 */
export async function resetUserKeys(k: Kernel, userId: number, actorId: number): Promise<void> {
  const rids = await k.db.transaction(async (tx) => {
    await tx.delete(e2eUserKeys).where(eq(e2eUserKeys.userId, userId));
    const rooms = await tx
      .update(chatMembers)
      .set({ e2eKey: null, e2eSuggestedKey: null })
      .where(eq(chatMembers.userId, userId))
      .returning({ chatId: chatMembers.chatId });
    await revokeUserSessions(tx, userId);
    return rooms.map((room) => room.chatId);
  });
  k.authCache.forgetUser(userId);
  await publishTo(k, [userId], 'forceLogout', actorId, { reason: 'e2e-key-reset' });
  const members = await membersOf(k.db, rids);
  for (const rid of rids) {
    const others = (members.get(rid) ?? []).filter((id) => id !== userId);
    await publishTo(k, others, 'e2eKeyReset', actorId, { rid, userId: String(userId) }, rid);
  }
}

/** Rocket.Chat's API.v1.forbidden(): 403 `{"success":false,"error":"unauthorized"}`. */
const forbidden = () => new ApiError(403, 'unauthorized');
/** Rocket.Chat answers these failures with the bare code as `error`. */
const plainError = (code: string, details?: Record<string, unknown>) => new ApiError(400, code, code, details);

/**
 * Rotates a room's key (Rocket.Chat's e2e.resetRoomKey): needs the room-scoped permission
 * toggle-room-e2e-encryption (room owners, admins), membership, a key pair of one's own and a
 * room that already has a key id. Every member's copy and suggestion of the old key is
 * cleared (Parley keeps no old room keys), the caller holds the new one, the room gets the new
 * key id; the other members are then waiting for a key (e2e.fetchUsersWaitingForGroupKey)
 * and hear `e2eRoomKeyReset` {rid, e2eKeyId} with the new id.
 */
export async function resetRoomKey(k: Kernel, auth: AuthContext, input: { rid: string; e2eKey: string; e2eKeyId: string }): Promise<void> {
  const { rid, e2eKey, e2eKeyId } = input;
  if (!UUID.test(rid) || !(await hasRoomPermission(k.db, auth.user, 'toggle-room-e2e-encryption', rid))) throw forbidden();
  if (!(await isMember(k.db, auth.user.id, rid))) throw plainError('error-not-allowed');
  const members = await k.db.transaction(async (tx) => {
    // The row lock serialises concurrent resets of one room across processes.
    const [room] = await tx.select({ e2eKeyId: chats.e2eKeyId }).from(chats).where(eq(chats.id, rid)).for('update');
    if (!room?.e2eKeyId) throw plainError('error-e2e-key-reset-failed', { reason: 'error-room-not-encrypted' });
    const [keys] = await tx.select({ userId: e2eUserKeys.userId }).from(e2eUserKeys).where(eq(e2eUserKeys.userId, auth.user.id));
    if (!keys) throw plainError('error-e2e-key-reset-failed', { reason: 'error-user-has-no-keys' });
    const rows = await tx
      .update(chatMembers)
      .set({ e2eKey: sql`case when ${chatMembers.userId} = ${auth.user.id} then ${e2eKey}::text else null end`, e2eSuggestedKey: null })
      .where(eq(chatMembers.chatId, rid))
      .returning({ userId: chatMembers.userId });
    await tx.update(chats).set({ e2eKeyId, updatedAt: new Date() }).where(eq(chats.id, rid));
    return rows.map((row) => row.userId);
  });
  await publishTo(k, members, 'e2eRoomKeyReset', auth.user.id, { rid, e2eKeyId }, rid);
}
