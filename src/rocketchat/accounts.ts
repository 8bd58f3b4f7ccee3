// Rocket.Chat's login, logout and `me`, and resolving the user an admin endpoint targets.
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { authenticatePassword, InvalidCredentialsError } from '../auth/login.ts';
import { RateLimitedError } from '../auth/rate-limits.ts';
import { isEmailFactorOn } from '../auth/email-code.ts';
import { rememberPasswordDigest } from '../auth/second-factor.ts';
import { issueSession, revokeSession, type AuthContext, type UserRow } from '../auth/sessions.ts';
import { users } from '../db/schema/index.ts';
import type { Kernel } from '../kernel.ts';
import { rcError, StatusEnvelopeError } from './errors.ts';
import { parseUserId } from './e2e.ts';
import { checkLoginSecondFactor, isTotpEnabled, TwoFactorError } from './twofactor.ts';
import { requirePermission } from './permissions.ts';

export interface Me {
  _id: string;
  username: string;
  name: string;
  emails?: { address: string; verified: boolean }[];
  email?: string;
  status: string;
  statusConnection: string;
  active: boolean;
  roles: string[];
  utcOffset: number;
  createdAt: string;
  services: { totp: { enabled: boolean }; email2fa: { enabled: boolean }; password: { exists: boolean } };
}

export async function meOf(k: Kernel, user: UserRow): Promise<Me> {
  return {
    _id: String(user.id),
    username: user.username,
    name: user.name,
    ...(user.email ? { emails: [{ address: user.email, verified: user.emailVerified }], email: user.email } : {}),
    status: 'online',
    statusConnection: 'online',
    active: true,
    roles: user.roles,
    utcOffset: 0,
    createdAt: user.createdAt.toISOString(),
    services: {
      totp: { enabled: await isTotpEnabled(k, user.id) },
      email2fa: { enabled: await isEmailFactorOn(k, user.id) },
      password: { exists: true },
    },
  };
}

export interface LoginInput {
  user?: string;
  username?: string;
  email?: string;
  password: string;
  code?: string;
  /** x-2fa-method: which second factor `code` is of. */
  method?: string;
  ipAddress: string;
  userAgent?: string;
}

const UNAUTHORIZED = { status: 'error', error: 'Unauthorized', message: 'Unauthorized' } as const;

/** Password (+ TOTP) login: a new device session whose token is the authToken. */
export async function login(k: Kernel, input: LoginInput) {
  const identity = input.user ?? input.username ?? input.email;
  if (!identity) throw new StatusEnvelopeError(401, UNAUTHORIZED);
  let user: UserRow;
  try {
    user = await authenticatePassword(k.db, k.limiters, { login: identity, password: input.password, ipAddress: input.ipAddress });
    await checkLoginSecondFactor(k, user, { code: input.code || undefined, method: input.method });
  } catch (error) {
    if (error instanceof InvalidCredentialsError) throw new StatusEnvelopeError(401, UNAUTHORIZED);
    if (error instanceof TwoFactorError) {
      const status = error.kind === 'totp-max-attempts' ? 429 : 401;
      throw new StatusEnvelopeError(status, { status: 'error', error: error.kind, message: error.reason, details: error.details }, error.retryAfter);
    }
    if (error instanceof RateLimitedError) {
      throw new StatusEnvelopeError(
        429,
        { status: 'error', error: 'error-too-many-requests', message: tooManyRequests(error.retryAfter ?? 1) },
        error.retryAfter,
      );
    }
    throw error;
  }
  // Rocket.Chat clients later prove the password by its sha256 hex (x-2fa-method: password);
  // best effort: without it only that proof is unavailable until the next login.
  await rememberPasswordDigest(k, user, input.password).catch((error: unknown) => k.log.warn({ err: error }, 'password digest not stored'));
  const device = { id: randomUUID(), name: (input.userAgent ?? 'Rocket.Chat client').slice(0, 100), model: 'rocketchat', transport: 'none' as const };
  const { accessToken } = await issueSession(k.db, user.id, device, input.ipAddress);
  return { status: 'success' as const, data: { userId: String(user.id), authToken: accessToken, me: await meOf(k, user) } };
}

export function tooManyRequests(seconds: number): string {
  return `Error, too many requests. Please slow down. You must wait ${seconds} seconds before trying this endpoint again.`;
}

export async function logout(k: Kernel, auth: AuthContext) {
  await revokeSession(k.db, auth.session.id);
  return { status: 'success' as const, data: { message: "You've been logged out!" } };
}

export interface TargetInput {
  userId?: string;
  username?: string;
  user?: string;
}

/**
 * The user named by `userId`, `username` or `user` (case-insensitive), or undefined when
 * the body names nobody (the caller acts on itself).
 */
export async function resolveTarget(k: Kernel, input: TargetInput | undefined): Promise<UserRow | undefined> {
  const given = input ? (['userId', 'username', 'user'] as const).filter((key) => input[key] !== undefined) : [];
  if (!input || given.length === 0) return undefined;
  const userId = input.userId?.trim();
  const username = (input.username ?? input.user)?.trim().toLowerCase();
  if (!userId && !username) throw rcError('The required "userId" or "username" param was not provided', 'error-user-param-not-provided');
  let found: UserRow | undefined;
  if (userId) {
    const id = parseUserId(userId);
    if (id !== undefined) [found] = await k.db.select().from(users).where(eq(users.id, id)).limit(1);
  } else if (username) {
    [found] = await k.db.select().from(users).where(eq(users.username, username)).limit(1);
  }
  if (!found) throw rcError('The required "userId" or "username" param provided does not match any users', 'error-invalid-user');
  return found;
}

/** Another user than the caller needs the permission; the caller itself does not. */
export async function authorizeTarget(k: Kernel, auth: AuthContext, target: UserRow | undefined, permission: string): Promise<UserRow> {
  if (!target || target.id === auth.user.id) return auth.user;
  await requirePermission(k.db, auth.user, permission);
  return target;
}
