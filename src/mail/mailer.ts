// Outgoing mail: SMTP through nodemailer when SMTP_URL is set, otherwise .eml files in
// DATA_DIR/outbox (the path is logged) so a local user can still read the message.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Transporter } from 'nodemailer';
import type { Config } from '../config.ts';
import { countedSend } from '../http/metric-events.ts';

export interface RawMessage {
  /** Envelope sender and recipient (bare addresses). */
  from: string;
  to: string;
  /** The complete message, headers and body, sent as is. */
  raw: string;
}

export class Mailer {
  private transport?: Promise<Transporter>;
  readonly outbox: string;

  constructor(
    private readonly config: Pick<Config, 'mail' | 'dataDir'>,
    private readonly log: FastifyBaseLogger,
  ) {
    this.outbox = path.join(config.dataDir, 'outbox');
  }

  /** The SMTP transport, made (and nodemailer loaded) on the first mail, not at start-up. */
  private smtp(smtpUrl: string): Promise<Transporter> {
    this.transport ??= import('nodemailer').then(({ default: nodemailer }) => nodemailer.createTransport(smtpUrl));
    return this.transport;
  }

  /** Counted for /metrics (parley_messages_total). */
  sendRaw(message: RawMessage): Promise<void> {
    return countedSend('mail', () => this.deliver(message));
  }

  private async deliver(message: RawMessage): Promise<void> {
    const smtpUrl = this.config.mail.smtpUrl;
    if (!smtpUrl) {
      await mkdir(this.outbox, { recursive: true });
      const file = path.join(this.outbox, `${Date.now()}-${randomBytes(4).toString('hex')}.eml`);
      await writeFile(file, message.raw);
      this.log.info({ file, to: message.to }, 'mail written to the outbox (no SMTP_URL)');
      return;
    }
    const transport = await this.smtp(smtpUrl);
    await transport.sendMail({ envelope: { from: message.from, to: [message.to] }, raw: message.raw });
  }

  close(): void {
    void this.transport?.then((transport) => transport.close()).catch(() => {});
  }
}
