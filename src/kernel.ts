// What every surface shares: configuration, the database, rate limiters and files.
import type { FastifyBaseLogger } from 'fastify';
import type { AuthCache } from './auth/auth-cache.ts';
import type { SecondFactorCheck } from './auth/login.ts';
import type { Limiters } from './auth/rate-limits.ts';
import type { Config } from './config.ts';
import type { Database, DatabaseHandle } from './db/client.ts';
import type { PreviewQueue } from './files/previews.ts';
import type { FileStore } from './files/store.ts';
import type { OutboundPolicy } from './http/outbound.ts';
import type { Mailer } from './mail/mailer.ts';
import type { Templates } from './mail/templates.ts';
import type { HistoryCache } from './messenger/history-cache.ts';
import type { MembershipCache } from './messenger/membership-cache.ts';
import type { EventBus } from './realtime/bus.ts';
import type { Realtime } from './realtime/events.ts';

export interface Kernel {
  config: Config;
  database: DatabaseHandle;
  db: Database;
  /** Access tokens resolved from memory for read requests. */
  authCache: AuthCache;
  /** Messenger history pages from memory, dropped by their chat's events (src/messenger/history-cache.ts). */
  history: HistoryCache;
  /** Who may read which chat, from memory, dropped by the membership notices (src/messenger/membership-cache.ts). */
  membership: MembershipCache;
  limiters: Limiters;
  files: FileStore;
  /** Image previews, made off the request path (the AfterUpload hook of uploads). */
  previews: PreviewQueue;
  log: FastifyBaseLogger;
  realtime: Realtime;
  /** This process's bus: caches listen to the change notices on it (src/db/noticed-cache.ts). */
  bus: EventBus;
  /** The only way out to user-chosen destinations (homeservers, push services): its agent refuses internal addresses. */
  outbound: OutboundPolicy;
  /** Mail to people (second-factor codes): SMTP or the DATA_DIR/outbox, templates of the brand. */
  mail: { mailer: Mailer; templates: Templates };
  /** Set by the two-factor module: every password login path calls it. */
  secondFactor?: SecondFactorCheck;
}
