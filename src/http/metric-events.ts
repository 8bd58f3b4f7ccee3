// Events the metrics count that happen deep in domain code (rate limits, mail, SMS): published
// on diagnostics channels, so those modules need no handle on a metrics registry, and cost
// nothing while no /metrics is installed. Counted per process (one app per process in production).
import diagnostics from 'node:diagnostics_channel';

export const RATE_LIMIT_REFUSED = diagnostics.channel('parley:rate-limit-refused');
export const MESSAGE_SENT = diagnostics.channel('parley:message-sent');

export interface RefusalEvent {
  /** The limiter's name (its key prefix): login-ip, guess, identity-address… */
  limiter: string;
}

export interface MessageEvent {
  medium: 'mail' | 'sms';
  outcome: 'sent' | 'failed';
}

/** A request refused by a rate limiter (or the full argon2 queue). */
export function reportRefusal(limiter: string): void {
  if (RATE_LIMIT_REFUSED.hasSubscribers) RATE_LIMIT_REFUSED.publish({ limiter } satisfies RefusalEvent);
}

/** A mail or text message handed to its transport (sent) or refused by it (failed). */
export function reportMessage(medium: MessageEvent['medium'], outcome: MessageEvent['outcome']): void {
  if (MESSAGE_SENT.hasSubscribers) MESSAGE_SENT.publish({ medium, outcome } satisfies MessageEvent);
}

/** Runs a send and reports its outcome. */
export async function countedSend<T>(medium: MessageEvent['medium'], send: () => Promise<T>): Promise<T> {
  try {
    const result = await send();
    reportMessage(medium, 'sent');
    return result;
  } catch (error) {
    reportMessage(medium, 'failed');
    throw error;
  }
}
