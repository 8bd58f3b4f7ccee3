// Outgoing text messages (SMS), beside the mailer: a JSON POST to the operator's relay when
// SMS_WEBHOOK_URL is set, otherwise .sms.txt files in DATA_DIR/outbox (the path is logged)
// so a local user can still read the code.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.ts';
import { countedSend } from '../http/metric-events.ts';

export interface TextMessage {
  /** The number in E.164, with its `+` (`+447700900001`). */
  to: string;
  text: string;
}

/** One transport of text messages: the relay, or the outbox. */
export interface TextSender {
  send(message: TextMessage): Promise<void>;
}

/** How long the relay may take to accept a message. */
export const SMS_WEBHOOK_TIMEOUT_MS = 10_000;

export class SmsDeliveryError extends Error {}

/**
 * `{"to", "text"}` as JSON, with `Authorization: Bearer <SMS_WEBHOOK_TOKEN>` when set. The relay
 * is the operator's own (like SMTP_URL), so the outbound policy for user-chosen hosts does not
 * apply; redirects are refused so the message and the token go to that URL only.
 */
export class WebhookTextSender implements TextSender {
  constructor(
    private readonly url: string,
    private readonly token: string | undefined,
  ) {}

  async send(message: TextMessage): Promise<void> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      body: JSON.stringify({ to: message.to, text: message.text }),
      redirect: 'error',
      signal: AbortSignal.timeout(SMS_WEBHOOK_TIMEOUT_MS),
    });
    // The body is not needed; reading it frees the connection.
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) throw new SmsDeliveryError(`the SMS relay answered ${response.status}`);
  }
}

export class OutboxTextSender implements TextSender {
  constructor(
    readonly outbox: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  async send(message: TextMessage): Promise<void> {
    await mkdir(this.outbox, { recursive: true });
    const file = path.join(this.outbox, `${Date.now()}-${randomBytes(4).toString('hex')}.sms.txt`);
    await writeFile(file, `To: ${message.to}\n\n${message.text}\n`);
    this.log.info({ file, to: message.to }, 'text message written to the outbox (no SMS_WEBHOOK_URL)');
  }
}

export function createTextSender(config: Pick<Config, 'sms' | 'dataDir'>, log: FastifyBaseLogger): TextSender {
  const sender = config.sms.webhookUrl
    ? new WebhookTextSender(config.sms.webhookUrl, config.sms.webhookToken)
    : new OutboxTextSender(path.join(config.dataDir, 'outbox'), log);
  // Counted for /metrics (parley_messages_total{medium="sms"}).
  return { send: (message) => countedSend('sms', () => sender.send(message)) };
}
