// Device sessions: one per login, identified to clients by a random access token of
// which only the hash is stored.
import { and, desc, eq, lt, ne, sql } from 'drizzle-orm';
import type { Database, Executor } from '../db/client.ts';
import { deviceSessions, media, users } from '../db/schema/index.ts';
import { hashToken, newSecretToken } from './tokens.ts';

export type UserRow = typeof users.$inferSelect;
export type SessionRow = typeof deviceSessions.$inferSelect;
export type MediaRow = typeof media.$inferSelect;

export interface DeviceInfoInput {
  id: string;
  name: string;
  model: string;
  token?: string;
  transport: 'none' | 'apns' | 'fcm' | 'web';
}

/** Who is calling: resolved once per request by a surface's security handler. */
export interface AuthContext {
  user: UserRow;
  session: SessionRow;
  /** The presented access token (echoed back by `GET /api/users/me`). */
  accessToken: string;
  /** The user's profile photos, newest first: loaded by AuthCache (read requests) only. */
  photos?: MediaRow[];
}

declare module 'fastify' {
  interface FastifyRequest {
    auth?: AuthContext;
  }
}

export async function issueSession(
  db: Executor,
  userId: number,
  device: DeviceInfoInput,
  ipAddress: string | undefined,
): Promise<{ session: SessionRow; accessToken: string }> {
  const accessToken = newSecretToken();
  const [session] = await db
    .insert(deviceSessions)
    .values({
      userId,
      tokenHash: hashToken(accessToken),
      deviceId: device.id,
      deviceName: device.name,
      deviceModel: device.model,
      deviceToken: device.token ?? null,
      transport: device.transport,
      ipAddress: ipAddress ?? null,
    })
    .returning();
  return { session, accessToken };
}

// lastSeen is the newest session activity; refreshing it at most this often keeps
// reads from turning into writes.
const ACTIVITY_RESOLUTION_MS = 60_000;

// Every authenticated request runs these: built once per database as prepared statements
// (drizzle builds a query's SQL on each call otherwise; npm run bench, post message).
const preparedQueries = new WeakMap<Database, ReturnType<typeof prepareQueries>>();

function prepareQueries(db: Database) {
  return {
    sessionByToken: db
      .select({ session: deviceSessions, user: users })
      .from(deviceSessions)
      .innerJoin(users, eq(users.id, deviceSessions.userId))
      .where(eq(deviceSessions.tokenHash, sql.placeholder('tokenHash')))
      .limit(1)
      .prepare('parley_session_by_token'),
    photosOfUser: db
      .select()
      .from(media)
      .where(eq(media.photoOfUserId, sql.placeholder('userId')))
      .orderBy(desc(media.createdAt), desc(media.id))
      .prepare('parley_photos_of_user'),
  };
}

function queriesOf(db: Database) {
  let queries = preparedQueries.get(db);
  if (!queries) preparedQueries.set(db, (queries = prepareQueries(db)));
  return queries;
}

/** The session and user of a token hash (uncached; AuthCache keeps the result). */
export async function loadAccessToken(db: Database, tokenHash: string, options: { photos?: boolean } = {}): Promise<Omit<AuthContext, 'accessToken'> | undefined> {
  const queries = queriesOf(db);
  const [row] = await queries.sessionByToken.execute({ tokenHash });
  if (!row) return undefined;
  const session = refreshActivity(db, row.session);
  if (!options.photos) return { user: row.user, session };
  return { user: row.user, session, photos: await queries.photosOfUser.execute({ userId: row.user.id }) };
}

/**
 * Records activity on a session last active over a minute ago, in the background; returns
 * the session as it is now (a new object when refreshed).
 */
export function refreshActivity(db: Database, session: SessionRow): SessionRow {
  if (Date.now() - session.updatedAt.getTime() <= ACTIVITY_RESOLUTION_MS) return session;
  db.update(deviceSessions)
    .set({ updatedAt: sql`now()` })
    .where(and(eq(deviceSessions.id, session.id), lt(deviceSessions.updatedAt, sql`now() - interval '1 minute'`)))
    .catch(() => {});
  return { ...session, updatedAt: new Date() };
}

/** The token's session and user, read from the database now. */
export async function resolveAccessToken(db: Database, accessToken: string): Promise<AuthContext | undefined> {
  const loaded = await loadAccessToken(db, hashToken(accessToken));
  return loaded && { ...loaded, accessToken };
}

export async function revokeSession(db: Executor, sessionId: string): Promise<void> {
  await db.delete(deviceSessions).where(eq(deviceSessions.id, sessionId));
}

/** Ends every session of a user, or every one but `keepSessionId`. */
export async function revokeUserSessions(db: Executor, userId: number, keepSessionId?: string): Promise<void> {
  await db
    .delete(deviceSessions)
    .where(keepSessionId ? and(eq(deviceSessions.userId, userId), ne(deviceSessions.id, keepSessionId)) : eq(deviceSessions.userId, userId));
}
