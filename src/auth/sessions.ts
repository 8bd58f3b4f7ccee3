// Device sessions: one per login, identified to clients by a random access token of
// which only the hash is stored.
import { and, eq, lt, ne, sql } from 'drizzle-orm';
import type { Database, Executor } from '../db/client.ts';
import { deviceSessions, users } from '../db/schema/index.ts';
import { hashToken, newSecretToken } from './tokens.ts';

export type UserRow = typeof users.$inferSelect;
export type SessionRow = typeof deviceSessions.$inferSelect;

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

export async function resolveAccessToken(db: Database, accessToken: string): Promise<AuthContext | undefined> {
  const [row] = await db
    .select({ session: deviceSessions, user: users })
    .from(deviceSessions)
    .innerJoin(users, eq(users.id, deviceSessions.userId))
    .where(eq(deviceSessions.tokenHash, hashToken(accessToken)))
    .limit(1);
  if (!row) return undefined;
  if (Date.now() - row.session.updatedAt.getTime() > ACTIVITY_RESOLUTION_MS) {
    db.update(deviceSessions)
      .set({ updatedAt: sql`now()` })
      .where(and(eq(deviceSessions.id, row.session.id), lt(deviceSessions.updatedAt, sql`now() - interval '1 minute'`)))
      .catch(() => {});
  }
  return { ...row, accessToken };
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
