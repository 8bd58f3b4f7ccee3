// Realtime delivery across processes: which process holds which device session's sockets
// (for the Web Push fallback), NOTIFY payloads too big for NOTIFY, and the VAPID keys.
import { bigserial, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { deviceSessions } from './core.ts';

/** One row per running Parley process with a realtime hub; `seenAt` is its heartbeat. */
export const realtimeInstances = pgTable('realtime_instances', {
  id: uuid('id').primaryKey(),
  seenAt: timestamp('seen_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/** An open WebSocket of a device session, held by one instance (counts while that instance's heartbeat is fresh). */
export const realtimeConnections = pgTable(
  'realtime_connections',
  {
    id: uuid('id').primaryKey(),
    instanceId: uuid('instance_id')
      .notNull()
      .references(() => realtimeInstances.id, { onDelete: 'cascade' }),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => deviceSessions.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('realtime_connections_session_idx').on(t.sessionId), index('realtime_connections_instance_idx').on(t.instanceId)],
);

/** An event whose NOTIFY payload would exceed PostgreSQL's 8000 bytes: NOTIFY carries its id. */
export const realtimeEvents = pgTable(
  'realtime_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    body: text('body').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('realtime_events_created_idx').on(t.createdAt)],
);

/** The server's VAPID key pair (one row, id 1): generated at first start, shared by every process. */
export const webPushKeys = pgTable('web_push_keys', {
  id: integer('id').primaryKey(),
  publicKey: text('public_key').notNull(),
  privateKey: text('private_key').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});
