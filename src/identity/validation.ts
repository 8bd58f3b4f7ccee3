// Validation sessions: requestToken emails (or texts) a token for (medium, address,
// client_secret); submitToken proves the address; bind and friends then use sid + client_secret.
import { randomBytes, randomInt } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { constantTimeEqual, hashToken } from '../auth/tokens.ts';
import { identityValidationSessions } from '../db/schema/index.ts';
import { assertValidEmail, sendTemplatedEmail } from './emails.ts';
import { invalidParam, matrixError } from './errors.ts';
import { parsePhone, sendVerificationText } from './phones.ts';
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

/** 6 digits, as Sydent's SMS codes: typed by a person; guesses are limited per session. */
function newSmsToken(): string {
  return String(randomInt(1_000_000)).padStart(6, '0');
}

/**
 * next_link must be an http(s) URL (nothing that runs code or reads files in the browser) and,
 * when IDENTITY_NEXT_LINK_ALLOWED_HOSTS is set, point to one of those hosts: the validation
 * link cannot become an open redirect to anywhere.
 */
function usableNextLink(s: IdentityService, nextLink: string | undefined): string | undefined {
  if (!nextLink) return undefined;
  let url: URL;
  try {
    url = new URL(nextLink);
  } catch {
    throw invalidParam('next_link must be an http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalidParam('next_link must be an http(s) URL');
  const allowed = s.k.config.identity.nextLinkAllowedHosts;
  if (allowed && !allowed.includes(url.hostname) && !allowed.includes(url.host)) throw invalidParam('next_link points to a host this identity server does not send people to');
  return nextLink;
}

/** send_attempt as the spec's integer, or a string holding one (the schema checked its form). */
export function parseSendAttempt(value: number | string | undefined): number | undefined {
  return value === undefined ? undefined : Number(String(value).trim());
}

interface SessionRequest {
  medium: 'email' | 'msisdn';
  /** As the session stores it: the email as supplied, the number in E.164 without `+`. */
  address: string;
  clientSecret: string;
  sendAttempt?: number;
  nextLink?: string;
}

/**
 * The session of (medium, address, client_secret), created or refreshed. A send_attempt greater
 * than the last one (or none) counts against `perAddress` and delivers a new token inside the
 * transaction: a token nobody was told about is not stored. Only the token's hash is kept.
 */
async function openSession(
  s: IdentityService,
  input: SessionRequest,
  perAddress: () => Promise<void>,
  newToken: () => string,
  deliver: (sid: string, token: string) => Promise<void>,
): Promise<{ sid: string }> {
  const nextLink = usableNextLink(s, input.nextLink);
  const key = { medium: input.medium, address: input.address, clientSecret: input.clientSecret };
  const [existing] = await s.k.db
    .select({ sendAttempt: identityValidationSessions.sendAttempt })
    .from(identityValidationSessions)
    .where(and(...Object.entries(key).map(([column, value]) => eq(identityValidationSessions[column as keyof typeof key], value))));
  const attempt = input.sendAttempt;
  // A repeated (or older) send_attempt only refreshes the session clock.
  const send = !existing || attempt === undefined || attempt > existing.sendAttempt;
  if (send) await perAddress();
  const token = newToken();
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
    if (send) await deliver(session.sid, token);
    return { sid: session.sid };
  });
}

export interface EmailTokenRequest {
  clientSecret: string;
  email: string;
  sendAttempt?: number | string;
  nextLink?: string;
  /** Who asks: the client address (v1) or the account (v2); rate-limited. */
  client: string;
  ipAddress: string;
}

export async function requestEmailToken(s: IdentityService, input: EmailTokenRequest): Promise<{ sid: string }> {
  await s.limiters.emailPerClient.consume(input.client);
  assertValidEmail(input.email);
  const request = { medium: 'email' as const, address: input.email, clientSecret: input.clientSecret, sendAttempt: parseSendAttempt(input.sendAttempt), nextLink: input.nextLink };
  return openSession(
    s,
    request,
    () => s.limiters.emailPerAddress.consume(input.email.toLowerCase()),
    newEmailToken,
    async (sid, token) => {
      const query = new URLSearchParams({ token, client_secret: input.clientSecret, sid });
      await sendTemplatedEmail(s, 'verification_template.eml.j2', input.email, {
        token,
        link: publicUrl(s, `/api/v1/validate/email/submitToken?${query}`),
        ipaddress: input.ipAddress || 'an unknown location',
      });
    },
  );
}

export interface MsisdnTokenRequest {
  clientSecret: string;
  country: string;
  phoneNumber: string;
  sendAttempt?: number | string;
  nextLink?: string;
  /** Who asks: the client address (v1) or the account (v2); rate-limited. */
  client: string;
}

/** Texts a 6-digit code; answers the number as understood (E.164 without `+`, and for people). */
export async function requestMsisdnToken(s: IdentityService, input: MsisdnTokenRequest): Promise<{ sid: string; msisdn: string; intl_fmt: string; success: true }> {
  await s.limiters.smsPerClient.consume(input.client);
  const phone = parsePhone(input.phoneNumber, input.country);
  const request = { medium: 'msisdn' as const, address: phone.msisdn, clientSecret: input.clientSecret, sendAttempt: parseSendAttempt(input.sendAttempt), nextLink: input.nextLink };
  const { sid } = await openSession(s, request, () => s.limiters.smsPerNumber.consume(phone.msisdn), newSmsToken, (_sid, token) =>
    sendVerificationText(s, phone.e164, token),
  );
  return { success: true, sid, msisdn: phone.msisdn, intl_fmt: phone.internationalFormat };
}

export type SubmitResult = { success: true; nextLink?: string } | { success: false; errcode: string; error: string };

const NO_VALID_SESSION = { success: false, errcode: 'M_NO_VALID_SESSION', error: 'No valid session was found matching that sid and client secret' } as const;

/** Proves the session's address with its token; a session of another medium is no valid session. */
export async function submitToken(s: IdentityService, medium: 'email' | 'msisdn', sid: string, clientSecret: string, token: string): Promise<SubmitResult> {
  await s.limiters.sessionGuesses.consume(sid);
  const [session] = await s.k.db.select().from(identityValidationSessions).where(eq(identityValidationSessions.sid, sid));
  if (!session || session.medium !== medium || !constantTimeEqual(session.clientSecret, clientSecret)) return NO_VALID_SESSION;
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
