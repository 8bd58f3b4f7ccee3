// The page a person sees after opening the emailed validation link (GET submitToken): the
// brand's verify_response_template.html, saying what happened. Failures are pages at 200 as
// in Sydent, never a bare error body: the reader is a person in a mail client, not an API client.
import type { FastifyReply } from 'fastify';
import { templatePageCsp } from '../http/security-headers.ts';
import { escapeHtml } from './emails.ts';
import type { IdentityService } from './service.ts';

export type LinkMedium = 'email' | 'msisdn';

/** What the link led to: validation, a refused session (by errcode), too many guesses, a server failure. */
export type LinkOutcome = { kind: 'validated' } | { kind: 'refused'; errcode: string } | { kind: 'limited'; retryAfter?: number } | { kind: 'failed' };

const SUCCESS = 'Verification successful! Please return to your Matrix client to continue.';

function messageOf(medium: LinkMedium, outcome: LinkOutcome): string {
  const another = medium === 'email' ? 'verification email' : 'verification text';
  switch (outcome.kind) {
    case 'validated':
      return SUCCESS;
    case 'limited':
      return 'Verification failed: too many attempts for this validation session. Please wait a few minutes and try again.';
    case 'failed':
      return `Verification failed: something went wrong on our side. Please try again later, or request another ${another}.`;
    case 'refused':
      if (outcome.errcode === 'M_SESSION_EXPIRED') return `Verification failed: this link has expired. Please request another ${another}.`;
      if (outcome.errcode === 'M_NO_VALID_SESSION') {
        return `Verification failed: this link is not valid (a newer ${another} may have replaced it). You may need to request another ${another}.`;
      }
      return `Verification failed: this link is incomplete or malformed. You may need to request another ${another}.`;
  }
}

const STATUS: Record<LinkOutcome['kind'], number> = { validated: 200, refused: 200, limited: 429, failed: 500 };

/** Sends the page (HTML-escaped message, `text/html; charset=utf-8`). */
export async function sendVerifyPage(s: IdentityService, reply: FastifyReply, medium: LinkMedium, outcome: LinkOutcome): Promise<FastifyReply> {
  const page = await s.templates.renderPercent('verify_response_template.html', { message: escapeHtml(messageOf(medium, outcome)) });
  if (outcome.kind === 'limited' && outcome.retryAfter) reply.header('retry-after', String(outcome.retryAfter));
  reply.header('content-security-policy', templatePageCsp);
  return reply.code(STATUS[outcome.kind]).type('text/html; charset=utf-8').send(page);
}
