// The Users area: registration, sessions, profile, passwords, account keys, photos.
import { and, desc, eq, ilike, inArray, lt, max, or, sql } from 'drizzle-orm';
import { accountClient, hashSecret, verifySecret } from '../auth/passwords.ts';
import { requireFreshProof, type FreshProof } from '../auth/second-factor.ts';
import { issueSession, revokeSession, revokeUserSessions, type AuthContext, type DeviceInfoInput, type UserRow } from '../auth/sessions.ts';
import type { Executor } from '../db/client.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { deleteOwnUploads, deleteUploadsOf, insertMediaOf, ownUpload } from '../files/uploads.ts';
import { deviceSessions, media, users } from '../db/schema/index.ts';
import { ApiError, badRequest, conflict, forbidden, notFound } from '../http/errors.ts';
import type { Kernel } from '../kernel.ts';
import { deviceSessionInfo, userInfo, type MediaRow, type PrivateUserInfo, type UserInfo } from './views.ts';

const WRONG_PASSWORD = 'Invalid user or password.';
const SEARCH_LIMIT = 50;

/** Collapses runs of white space and trims: "  Ann   Lee " → "Ann Lee". */
export function normalizeName(name: string): string {
  return name.replace(/\s+/g, ' ').trim();
}

export async function photosOf(db: Executor, userIds: number[]): Promise<Map<number, MediaRow[]>> {
  const byUser = new Map<number, MediaRow[]>();
  if (userIds.length === 0) return byUser;
  const rows = await db
    .select()
    .from(media)
    .where(inArray(media.photoOfUserId, userIds))
    .orderBy(desc(media.createdAt), desc(media.id));
  for (const row of rows) {
    const list = byUser.get(row.photoOfUserId!) ?? [];
    list.push(row);
    byUser.set(row.photoOfUserId!, list);
  }
  return byUser;
}

async function lastSeenOf(db: Executor, userId: number): Promise<Date | null> {
  const [row] = await db.select({ lastSeen: max(deviceSessions.updatedAt) }).from(deviceSessions).where(eq(deviceSessions.userId, userId));
  return row?.lastSeen ?? null;
}

async function privateUserInfo(db: Executor, user: UserRow, auth: Pick<AuthContext, 'session' | 'accessToken' | 'photos'>): Promise<PrivateUserInfo> {
  const photos = auth.photos ?? (await photosOf(db, [user.id])).get(user.id);
  return {
    info: userInfo(user, { full: true, photos, lastSeen: auth.session.updatedAt }),
    deviceSessions: [deviceSessionInfo(auth.session, auth.accessToken)],
  };
}

export interface Registration {
  name: string;
  username: string;
  password: string;
  deviceInfo: DeviceInfoInput;
  ipAddress: string;
}

export async function registerUser(k: Kernel, input: Registration): Promise<PrivateUserInfo> {
  const name = normalizeName(input.name);
  const username = input.username.trim().toLowerCase();
  // Each registration costs an argon2 hash: limited per address before any is computed.
  await k.limiters.registerPerIp.consume(input.ipAddress);
  const passwordHash = await hashSecret(input.password, input.ipAddress);
  try {
    return await k.db.transaction(async (tx) => {
      const [user] = await tx.insert(users).values({ name, username, passwordHash }).returning();
      const session = await issueSession(tx, user.id, input.deviceInfo, input.ipAddress);
      return privateUserInfo(tx, user, session);
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict('Username is already taken');
    throw error;
  }
}

export async function startDeviceSession(k: Kernel, user: UserRow, device: DeviceInfoInput, ipAddress: string): Promise<PrivateUserInfo> {
  return k.db.transaction(async (tx) => {
    const session = await issueSession(tx, user.id, device, ipAddress);
    return privateUserInfo(tx, user, session);
  });
}

export function currentUser(k: Kernel, auth: AuthContext): Promise<PrivateUserInfo> {
  return privateUserInfo(k.db, auth.user, auth);
}

export async function logout(k: Kernel, auth: AuthContext): Promise<void> {
  await revokeSession(k.db, auth.session.id);
}

export interface ProfileChange {
  name?: string;
  about?: string;
  language?: string;
}

export async function updateProfile(k: Kernel, auth: AuthContext, change: ProfileChange): Promise<UserInfo> {
  const values: Partial<typeof users.$inferInsert> = { updatedAt: new Date() };
  if (change.name !== undefined) values.name = normalizeName(change.name);
  if (change.about !== undefined) values.about = change.about;
  if (change.language !== undefined) values.language = change.language === '' ? null : change.language;
  const updated = await k.db.transaction(async (tx) => {
    const [user] = await tx.update(users).set(values).where(eq(users.id, auth.user.id)).returning();
    const photos = (await photosOf(tx, [user.id])).get(user.id);
    return userInfo(user, { full: true, photos, lastSeen: await lastSeenOf(tx, user.id) });
  });
  k.history.forgetUser(auth.user.id);
  return updated;
}

/** New password after proving the old one; the other sessions of the account end. */
export async function changePassword(k: Kernel, auth: AuthContext, currentPassword: string, newPassword: string): Promise<void> {
  await k.limiters.guesses.consume(`password:${auth.user.id}`);
  if (!(await verifySecret(auth.user.passwordHash, currentPassword, accountClient(auth.user.id)))) throw forbidden(WRONG_PASSWORD);
  const passwordHash = await hashSecret(newPassword, accountClient(auth.user.id));
  await k.db.transaction(async (tx) => {
    await tx.update(users).set({ passwordHash, passwordDigestHash: null, updatedAt: new Date() }).where(eq(users.id, auth.user.id));
    await revokeUserSessions(tx, auth.user.id, auth.session.id);
  });
}

/** Sets the account key (it can reset a lost password): the password, and with TOTP on a code, are proven first. */
export async function setAccountKey(k: Kernel, auth: AuthContext, proof: FreshProof & { password: string }, accountKey: string): Promise<void> {
  await requireFreshProof(k, auth.user, proof);
  const accountKeyHash = await hashSecret(accountKey, accountClient(auth.user.id));
  await k.db.update(users).set({ accountKeyHash, updatedAt: new Date() }).where(eq(users.id, auth.user.id));
}

/** Replaces a lost password when the account key matches; every session of the account ends. */
/** `client`: the caller's address, whose share of the hashing queue the two hashes use. */
export async function resetPassword(k: Kernel, userId: number, accountKey: string, newPassword: string, client: string): Promise<void> {
  await k.limiters.guesses.consume(`account-key:${userId}`);
  const [user] = await k.db.select().from(users).where(eq(users.id, userId)).limit(1);
  if (!user) throw notFound('User not found');
  if (!(await verifySecret(user.accountKeyHash, accountKey, client))) throw forbidden('Invalid account key');
  const passwordHash = await hashSecret(newPassword, client);
  await k.db.transaction(async (tx) => {
    await tx.update(users).set({ passwordHash, passwordDigestHash: null, updatedAt: new Date() }).where(eq(users.id, userId));
    await revokeUserSessions(tx, userId);
  });
  // Not the caller's own account as far as the request knows: forget it here, not in onSend.
  k.authCache.forgetUser(userId);
}

export async function updateDevice(
  k: Kernel,
  auth: AuthContext,
  deviceName: string,
  deviceToken: string | undefined,
  transport?: (typeof deviceSessions.$inferInsert)['transport'],
): Promise<PrivateUserInfo> {
  const values: Partial<typeof deviceSessions.$inferInsert> = { deviceName, updatedAt: new Date() };
  if (deviceToken !== undefined) values.deviceToken = deviceToken;
  // A browser subscribes to Web Push after logging in (once notifications are allowed).
  if (transport !== undefined) values.transport = transport;
  return k.db.transaction(async (tx) => {
    const [session] = await tx.update(deviceSessions).set(values).where(eq(deviceSessions.id, auth.session.id)).returning();
    return privateUserInfo(tx, auth.user, { session, accessToken: auth.accessToken });
  });
}

/** A user's public info; `lastSeen` (presence) only for a signed-in viewer, never to anonymous callers. */
export async function getUser(k: Kernel, userId: number, full: boolean, viewer: AuthContext | undefined): Promise<UserInfo> {
  const [user] = await k.db.select().from(users).where(eq(users.id, userId)).limit(1);
  if (!user) throw notFound('User not found');
  const photos = (await photosOf(k.db, [user.id])).get(user.id);
  return userInfo(user, { full, photos, lastSeen: full && viewer ? await lastSeenOf(k.db, user.id) : undefined });
}

async function withPhotos(k: Kernel, rows: UserRow[]): Promise<UserInfo[]> {
  const photos = await photosOf(
    k.db,
    rows.map((row) => row.id),
  );
  return rows.map((row) => userInfo(row, { photos: photos.get(row.id) }));
}

/** By id when the query is a number, else by a substring (2+ characters) of name or username. */
export async function searchUsers(k: Kernel, rawQuery: string | undefined): Promise<UserInfo[]> {
  if (rawQuery === undefined) throw badRequest('Missing search query "s"');
  const query = rawQuery.trim().toLowerCase();
  if (/^[0-9]+$/.test(query)) {
    const id = Number(query);
    const rows = id > 0 && id <= 2_147_483_647 ? await k.db.select().from(users).where(eq(users.id, id)).limit(1) : [];
    if (rows.length === 0) throw notFound('User not found');
    return withPhotos(k, rows);
  }
  if (query.length < 2) throw notFound('Search query is too short');
  const pattern = `%${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const rows = await k.db
    .select()
    .from(users)
    .where(or(ilike(users.name, pattern), ilike(users.username, pattern)))
    .orderBy(users.id)
    .limit(SEARCH_LIMIT);
  return withPhotos(k, rows);
}

export async function listUsers(k: Kernel, count: number, beforeId: number | undefined): Promise<UserInfo[]> {
  const rows = await k.db
    .select()
    .from(users)
    .where(beforeId ? lt(users.id, beforeId) : undefined)
    .orderBy(desc(users.id))
    .limit(count);
  return withPhotos(k, rows);
}

export interface PhotoInput {
  id: string;
  fileType: string;
  fileSize: number;
  previewWidth?: number;
  previewHeight?: number;
}

/** Makes one of the caller's uploads a profile photo. */
export async function addPhoto(k: Kernel, auth: AuthContext, photo: PhotoInput): Promise<UserInfo> {
  const updated = await k.db.transaction(async (tx) => {
    const upload = await ownUpload(tx, photo.id, auth.user.id);
    if (!upload) throw notFound('No uploaded file with this id; upload it first');
    await insertMediaOf(tx, upload, { ...photo, photoOfUserId: auth.user.id });
    const photos = (await photosOf(tx, [auth.user.id])).get(auth.user.id);
    return userInfo(auth.user, { full: true, photos, lastSeen: await lastSeenOf(tx, auth.user.id) });
  });
  k.history.forgetUser(auth.user.id);
  return updated;
}

export async function deletePhoto(k: Kernel, auth: AuthContext, photoId: string): Promise<void> {
  await k.db.transaction(async (tx) => {
    const [photo] = await tx.select().from(media).where(and(eq(media.id, photoId), sql`${media.photoOfUserId} is not null`)).limit(1);
    if (!photo) throw notFound('Photo not found');
    if (photo.photoOfUserId !== auth.user.id) throw forbidden('This photo belongs to another user');
    await tx.delete(media).where(eq(media.id, photoId));
    // Only the caller's own upload of that name goes (another user may hold the name by now).
    await deleteOwnUploads(k, tx, [{ name: photoId, ownerId: auth.user.id }]);
  });
  k.history.forgetUser(auth.user.id);
}

/** Deletes the caller's account after a fresh proof: a Bearer token alone is not enough. */
export async function deleteOwnAccount(k: Kernel, auth: AuthContext, proof: FreshProof): Promise<void> {
  await requireFreshProof(k, auth.user, proof);
  await deleteAccount(k, auth.user.id);
}

/** Deletes the account with everything it owns (sessions, chats it owns, messages, files). */
export async function deleteAccount(k: Kernel, userId: number): Promise<void> {
  await k.db.transaction(async (tx) => {
    // The files go while their rows are locked: a new upload of a freed name keeps its bytes.
    await deleteUploadsOf(k, tx, userId);
    const [deleted] = await tx.delete(users).where(eq(users.id, userId)).returning({ id: users.id });
    if (!deleted) throw new ApiError(404, 'User not found');
  });
  k.authCache.forgetUser(userId);
  k.history.forgetUser(userId);
}
