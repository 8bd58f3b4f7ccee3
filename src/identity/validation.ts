// Validation sessions: requestToken emails a token for (medium, address, client_secret);
// submitToken proves the address; bind and friends then use sid + client_secret.
import { randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { constantTimeEqual, hashToken } from '../auth/tokens.ts';
import { identityValidationSessions } from '../db/schema/index.ts';
import { assertValidEmail, sendTemplatedEmail } from './emails.ts';
import { matrixError } from './errors.ts';
import { publicUrl, type IdentityService } from './service.ts';

/** submitToken is refused once the session is this old (since its last requestToken). */
export const TOKEN_VALIDITY_MS = 24 * 3600 * 1000;
/** getValidated3pid, bind and unbind refuse a session this old. */
export const SESSION_VALID_LIFETIME_MS = 24 * 3600 * 1000;
const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export type SessionRow = typeof identityValidationSessions.$inferSelect;

/** 32 characters [A-Za-z0-9], as Sydent's email tokens. */
function newEmailToken(): string {
  const bytes = randomBytes(32);
  return Array.from(bytes, (b) => TOKEN_ALPHABET[b % 62]).join('');
}

/** next_link, unless it could run code or read files in the browser. */
function usableNextLink(nextLink: string | undefined): string | undefined {
  if (!nextLink) return undefined;
  try {
    const url = new URL(nextLink);
    return ['file:', 'javascript:', 'data:', 'vbscript:'].includes(url.protocol) ? undefined : nextLink;
  } catch {
    return undefined;
  }
}

export interface EmailTokenRequest {
  clientSecret: string;
  email: string;
  sendAttempt?: number;
  nextLink?: string;
  /** Who asks: the client address (v1) or the account (v2); rate-limited. */
  client: string;
  ipAddress: string;
}

export async function requestEmailToken(s: IdentityService, input: EmailTokenRequest): Promise<{ sid: string }> {
  await s.limiters.emailPerClient.consume(input.client);
  assertValidEmail(input.email);
  const nextLink = usableNextLink(input.nextLink);
  const key = { medium: 'email', address: input.email, clientSecret: input.clientSecret };
  const [existing] = await s.k.db
    .select({ sendAttempt: identityValidationSessions.sendAttempt })
    .from(identityValidationSessions)
    .where(and(...Object.entries(key).map(([column, value]) => eq(identityValidationSessions[column as keyof typeof key], value))));
  const attempt = input.sendAttempt;
  // A repeated (or older) send_attempt only refreshes the session clock.
  const send = !existing || attempt === undefined || attempt > existing.sendAttempt;
  if (send) await s.limiters.emailPerAddress.consume(input.email.toLowerCase());
  // Each email carries a new token: only its hash is kept.
  const token = newEmailToken();
  const onSend = { tokenHash: hashToken(token), sendAttempt: attempt ?? existing?.sendAttempt ?? -1, ...(nextLink ? { nextLink } : {}) };
  return s.k.db.transaction(async (tx) => {
    const [session] = await tx
      .insert(identityValidationSessions)
      .values({ sid: randomBytes(12).toString('base64url'), ...key, ...onSend, nextLink })
      .onConflictDoUpdate({
        target: [identityValidationSessions.medium, identityValidationSessions.address, identityValidationSessions.clientSecret],
        set: { mtime: new Date(), ...(send ? onSend : {}) },
      })
      .returning({ sid: identityValidationSessions.sid });
    if (send) {
      const query = new URLSearchParams({ token, client_secret: input.clientSecret, sid: session.sid });
      await sendTemplatedEmail(s, 'verification_template.eml.j2', input.email, {
        token,
        link: publicUrl(s, `/api/v1/validate/email/submitToken?${query}`),
        ipaddress: input.ipAddress || 'an unknown location',
      });
    }
    return { sid: session.sid };
  });
}

export type SubmitResult = { success: true; nextLink?: string } | { success: false; errcode: string; error: string };

export async function submitEmailToken(s: IdentityService, sid: string, clientSecret: string, token: string): Promise<SubmitResult> {
  await s.limiters.sessionGuesses.consume(sid);
  const [session] = await s.k.db.select().from(identityValidationSessions).where(eq(identityValidationSessions.sid, sid));
  if (!session || !constantTimeEqual(session.clientSecret, clientSecret)) {
    return { success: false, errcode: 'M_NO_VALID_SESSION', error: 'No valid session was found matching that sid and client secret' };
  }
  if (session.mtime.getTime() + TOKEN_VALIDITY_MS < Date.now()) {
    return { success: false, errcode: 'M_SESSION_EXPIRED', error: 'This validation session has expired: call requestToken again' };
  }
  if (!constantTimeEqual(session.tokenHash, hashToken(token))) {
    return { success: false, errcode: 'M_NO_VALID_SESSION', error: 'The token does not match this session' };
  }
  if (!session.validatedAt) {
    await s.k.db.update(identityValidationSessions).set({ validatedAt: new Date() }).where(eq(identityValidationSessions.sid, sid));
  }
  await s.limiters.sessionGuesses.reset(sid);
  if (!session.nextLink) return { success: true };
  const separator = session.nextLink.includes('?') ? '&' : '?';
  return { success: true, nextLink: `${session.nextLink}${separator}sid=${encodeURIComponent(sid)}` };
}

/** HTTP statuses of the session errors: getValidated3pid and bind use 404/400/400, unbind 401/403/400. */
export interface SessionErrorStatuses {
  noSession: number;
  notValidated: number;
}

/** A validated, unexpired session matching sid + client_secret; otherwise the seeds' errors. */
export async function validatedSession(
  s: IdentityService,
  sid: string,
  clientSecret: string,
  statuses: SessionErrorStatuses = { noSession: 404, notValidated: 400 },
): Promise<SessionRow & { validatedAt: Date }> {
  await s.limiters.sessionGuesses.consume(sid);
  const [session] = await s.k.db.select().from(identityValidationSessions).where(eq(identityValidationSessions.sid, sid));
  if (!session || !constantTimeEqual(session.clientSecret, clientSecret)) {
    throw matrixError(statuses.noSession, 'M_NO_VALID_SESSION', 'No valid session was found matching that sid and client secret');
  }
  if (session.mtime.getTime() + SESSION_VALID_LIFETIME_MS < Date.now()) {
    throw matrixError(400, 'M_SESSION_EXPIRED', 'This validation session has expired: call requestToken again');
  }
  if (!session.validatedAt) {
    throw matrixError(statuses.notValidated, 'M_SESSION_NOT_VALIDATED', 'This validation session has not yet been completed');
  }
  return session as SessionRow & { validatedAt: Date };
}

export async function getValidated3pid(s: IdentityService, sid: string, clientSecret: string) {
  const session = await validatedSession(s, sid, clientSecret);
  return { medium: session.medium, address: session.address, validated_at: session.validatedAt.getTime() };
}
