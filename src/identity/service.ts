// Everything the identity service's domain modules share: the kernel, the long-term key,
// the lookup pepper, terms, mail and texts, homeserver calls and rate limits.
import { Limiter, MemoryLimiter } from '../auth/rate-limits.ts';
import type { Kernel } from '../kernel.ts';
import { Mailer } from '../mail/mailer.ts';
import { Templates } from '../mail/templates.ts';
import { createTextSender, type TextSender } from '../sms/sender.ts';
import type { Association } from './bindings.ts';
import { Federation } from './federation.ts';
import { loadPepper } from './hashing.ts';
import { LookupCache } from './lookup-cache.ts';
import { loadServerKey, type Signed, type SigningKey } from './signing.ts';
import { loadTerms, type Terms } from './terms.ts';

export interface IdentityService {
  k: Kernel;
  serverName: string;
  key: SigningKey;
  pepper: string;
  terms: Terms;
  mailer: Mailer;
  /** Text messages (msisdn codes): the operator's SMS relay, or the outbox. */
  texts: TextSender;
  templates: Templates;
  federation: Federation;
  /** Lookup answers (bound or not) from memory, dropped by the associations' change notices. */
  lookups: LookupCache<Signed<Association>>;
  limiters: {
    /** Emails sent per address. */
    emailPerAddress: Limiter;
    /** Token requests and invites per client (IP in v1, account in v2) and per sender. */
    emailPerClient: Limiter;
    /** Texts sent per number (E.164 digits); the email knobs. */
    smsPerNumber: Limiter;
    /** Text token requests per client (IP in v1, account in v2); the email knobs. */
    smsPerClient: Limiter;
    /** Guesses of a session's token or client secret, per sid. */
    sessionGuesses: Limiter;
    /** Requests per client address and budget (`bind:<ip>`, `lookup:<ip>` …), in memory: a lookup costs no write. */
    perAddress: MemoryLimiter;
  };
  /** Background deliveries (onbind) still running; awaited on close. */
  background: Set<Promise<void>>;
  closing: boolean;
}

export async function createIdentityService(k: Kernel): Promise<IdentityService> {
  const { identity, mail, guessRateLimit } = k.config;
  const lookups = new LookupCache<Signed<Association>>({ max: identity.lookupCacheEntries });
  await lookups.listen(k.bus);
  return {
    k,
    serverName: identity.serverName,
    key: await loadServerKey(k.db),
    pepper: await loadPepper(k.db),
    terms: loadTerms(identity.termsPath),
    mailer: new Mailer(k.config, k.log),
    texts: createTextSender(k.config, k.log),
    templates: new Templates(mail.templatesDir, mail.brand),
    federation: new Federation(k.outbound, identity.federationVerifyTls, identity.federationAllowedServers),
    lookups,
    limiters: {
      emailPerAddress: new Limiter(k.db, 'identity-email-address', identity.emailRateLimit.perAddress, identity.emailRateLimit.windowMs),
      emailPerClient: new Limiter(k.db, 'identity-email-client', identity.emailRateLimit.perClient, identity.emailRateLimit.windowMs),
      smsPerNumber: new Limiter(k.db, 'identity-sms-number', identity.emailRateLimit.perAddress, identity.emailRateLimit.windowMs),
      smsPerClient: new Limiter(k.db, 'identity-sms-client', identity.emailRateLimit.perClient, identity.emailRateLimit.windowMs),
      sessionGuesses: new Limiter(k.db, 'identity-session-guess', guessRateLimit.max, guessRateLimit.windowMs),
      perAddress: new MemoryLimiter('identity-address', identity.ratePerIp, 60_000),
    },
    background: new Set(),
    closing: false,
  };
}

/** Runs work after the response, tracked so that closing the app waits for it. */
export function inBackground(s: IdentityService, work: () => Promise<void>): void {
  const running = work()
    .catch((error) => s.k.log.error({ err: error }, 'identity background task failed'))
    .finally(() => s.background.delete(running));
  s.background.add(running);
}

export const publicUrl = (s: IdentityService, pathAndQuery: string) => `${s.k.config.publicUrl}/_matrix/identity${pathAndQuery}`;
