// The identity service's emails: Sydent's substitution map (every value also as
// `<name>_forhtml` and `<name>_forurl`), rendered from the brand's .eml.j2 template and
// sent as the complete raw message.
import { randomBytes } from 'node:crypto';
import emailAddresses from 'email-addresses';
import { matrixError } from './errors.ts';
import type { IdentityService } from './service.ts';

/** A bare addr-spec (no display name, no second @), or M_INVALID_EMAIL. */
export function assertValidEmail(address: string): void {
  const parsed = emailAddresses.parseOneAddress({ input: address, rfc6532: true, rejectTLD: false });
  const valid = parsed !== null && parsed.type === 'mailbox' && parsed.name === null && parsed.address === address && !/[\s<>]/.test(address);
  if (!valid) throw matrixError(400, 'M_INVALID_EMAIL', 'Invalid email address');
}

const escapeHtml = (value: string) =>
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

export async function sendTemplatedEmail(s: IdentityService, template: string, to: string, substitutions: Record<string, string>): Promise<void> {
  const from = s.k.config.mail.from;
  const domain = bareAddress(from).split('@')[1] || 'localhost';
  const values: Record<string, string> = {
    ...substitutions,
    to,
    from,
    messageid: `<${Date.now()}${randomBytes(8).toString('hex')}@${domain}>`,
    date: new Date().toUTCString().replace('GMT', '+0000'),
  };
  const variables: Record<string, string> = { multipart_boundary: randomBytes(16).toString('hex') };
  for (const [name, raw] of Object.entries(values)) {
    // Values reach headers: never let one start a new header line.
    const value = raw.replace(/[\r\n]+/g, ' ');
    variables[name] = value;
    variables[`${name}_forhtml`] = escapeHtml(value);
    variables[`${name}_forurl`] = encodeURIComponent(value);
  }
  try {
    const raw = await s.templates.render(template, variables);
    await s.mailer.sendRaw({ from: bareAddress(from), to, raw });
  } catch (error) {
    s.k.log.error({ err: error, template }, 'sending an identity email failed');
    throw matrixError(500, 'M_EMAIL_SEND_ERROR', 'Failed to send email');
  }
}
