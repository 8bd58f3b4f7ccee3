// The identity service's emails: Sydent's substitution map (every value also as
// `<name>_forhtml` and `<name>_forurl`), rendered from the brand's .eml.j2 template and
// sent as the complete raw message. Values a request supplied live under their own names
// only: they never replace a value the server sets, nor a derived `_forhtml`/`_forurl` one.
import { randomBytes } from 'node:crypto';
import emailAddresses from 'email-addresses';
import { matrixError } from './errors.ts';
import type { IdentityService } from './service.ts';

/** RFC 5321's limit on a forward path; longer "addresses" are refused before any parsing. */
export const MAX_EMAIL_LENGTH = 320;

/** A bare addr-spec (no display name, no second @), or M_INVALID_EMAIL. */
export function assertValidEmail(address: string): void {
  if (address.length > MAX_EMAIL_LENGTH) throw matrixError(400, 'M_INVALID_EMAIL', `Email addresses are at most ${MAX_EMAIL_LENGTH} characters`);
  const parsed = emailAddresses.parseOneAddress({ input: address, rfc6532: true, rejectTLD: false });
  const valid = parsed !== null && parsed.type === 'mailbox' && parsed.name === null && parsed.address === address && !/[\s<>]/.test(address);
  if (!valid) throw matrixError(400, 'M_INVALID_EMAIL', 'Invalid email address');
}

/** For values placed in HTML (templates' `_forhtml` values, the verify page). */
export const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A header value: one line, RFC 2047-encoded when not ASCII. */
export function headerValue(value: string): string {
  const line = value.replace(/[\r\n]+/g, ' ');
  return /^[\x20-\x7e]*$/.test(line) ? line : `=?utf-8?b?${Buffer.from(line, 'utf8').toString('base64')}?=`;
}

function bareAddress(mailbox: string): string {
  const parsed = emailAddresses.parseOneAddress(mailbox);
  return parsed && parsed.type === 'mailbox' ? parsed.address : mailbox;
}

/** Names the server derives from each value: a request cannot supply them. */
const DERIVED_NAME = /_for(html|url)$/;

/**
 * `serverValues` are set by the server; `requestValues` (store-invite's extra fields) only add
 * names the server does not set. `multipart_boundary` is always the server's random one.
 */
export async function sendTemplatedEmail(
  s: IdentityService,
  template: string,
  to: string,
  serverValues: Record<string, string>,
  requestValues: Record<string, unknown> = {},
): Promise<void> {
  const from = s.k.config.mail.from;
  const domain = bareAddress(from).split('@')[1] || 'localhost';
  const values = new Map<string, string>();
  for (const [name, value] of Object.entries(requestValues)) {
    if (typeof value === 'string' && !DERIVED_NAME.test(name)) values.set(name, value);
  }
  const server: Record<string, string> = {
    ...serverValues,
    to,
    from,
    messageid: `<${Date.now()}${randomBytes(8).toString('hex')}@${domain}>`,
    date: new Date().toUTCString().replace('GMT', '+0000'),
  };
  for (const [name, value] of Object.entries(server)) values.set(name, value);
  const variables = new Map<string, string>();
  for (const [name, raw] of values) {
    // Values reach headers: never let one start a new header line.
    const value = raw.replace(/[\r\n]+/g, ' ');
    variables.set(name, value);
    variables.set(`${name}_forhtml`, escapeHtml(value));
    variables.set(`${name}_forurl`, encodeURIComponent(value));
  }
  // Set last: no value of any origin can replace the boundary.
  variables.set('multipart_boundary', randomBytes(16).toString('hex'));
  try {
    const raw = await s.templates.render(template, Object.fromEntries(variables));
    await s.mailer.sendRaw({ from: bareAddress(from), to, raw });
  } catch (error) {
    s.k.log.error({ err: error, template }, 'sending an identity email failed');
    throw matrixError(500, 'M_EMAIL_SEND_ERROR', 'Failed to send email');
  }
}
