// A complete mail from a brand's .eml.j2 template: the server's own headers (Date, From,
// To, Message-ID, a random MIME boundary) plus the caller's values. Every value is one
// header-safe line (no CR/LF, RFC 2047 when not ASCII), so no value can add a header.
import { randomBytes } from 'node:crypto';
import emailAddresses from 'email-addresses';
import type { Mailer } from './mailer.ts';
import type { Templates } from './templates.ts';

/** A header value: one line, RFC 2047-encoded when not ASCII. */
export function headerLine(value: string): string {
  const line = value.replace(/[\r\n]+/g, ' ');
  return /^[\x20-\x7e]*$/.test(line) ? line : `=?utf-8?b?${Buffer.from(line, 'utf8').toString('base64')}?=`;
}

/** The bare address of a mailbox such as `Parley <noreply@example.org>`. */
export function bareAddress(mailbox: string): string {
  const parsed = emailAddresses.parseOneAddress(mailbox);
  return parsed && parsed.type === 'mailbox' ? parsed.address : mailbox;
}

/** Renders `template` for `to` and sends it; `values` reach the template as header-safe lines. */
export async function sendTemplatedMail(
  mail: { mailer: Mailer; templates: Templates },
  from: string,
  template: string,
  to: string,
  values: Record<string, string>,
): Promise<void> {
  const sender = bareAddress(from);
  const variables: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) variables[name] = headerLine(value);
  Object.assign(variables, {
    to: headerLine(to),
    from: headerLine(from),
    messageid: `<${Date.now()}${randomBytes(8).toString('hex')}@${sender.split('@')[1] || 'localhost'}>`,
    date: new Date().toUTCString().replace('GMT', '+0000'),
    multipart_boundary: randomBytes(16).toString('hex'),
  });
  const raw = await mail.templates.render(template, variables);
  await mail.mailer.sendRaw({ from: sender, to, raw });
}
