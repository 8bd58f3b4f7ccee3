// The Realtime of the kernel: publish hands a delivery to the bus; every process turns
// what the bus brings into one frame and writes it to its own sockets of those users.
// Also keeps this process's presence (for the push fallback and users' online state) and
// drops revoked sessions.
import { randomUUID } from 'node:crypto';
import type { Agent } from 'node:https';
import { and, eq, gt, inArray, lt, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import type { Config } from '../config.ts';
import type { Database, DatabaseHandle } from '../db/client.ts';
import { deviceSessions, realtimeConnections, realtimeEvents, realtimeInstances } from '../db/schema/index.ts';
import { SESSION_REVOKED_CHANNEL } from '../db/change-notices.ts';
import { NOTIFY_PAYLOAD_LIMIT, type EventBus } from './bus.ts';
import type { Delivery, PresenceChange, Realtime } from './events.ts';
import { loadVapidKeys, pushPayload, pushTargets, sendPushes, type VapidKeys } from './push.ts';
import { CLOSE_GOING_AWAY, CLOSE_POLICY_VIOLATION, SocketRegistry, type SocketClient } from './sockets.ts';

const EVENTS_CHANNEL = 'parley_realtime';
/** Events stored for the by-reference path are kept this long for slow listeners. */
const STORED_EVENT_TTL = sql`interval '10 minutes'`;

export interface HubOptions {
  database: DatabaseHandle;
  /** The process's bus (its owner closes it after the hub); the change-notice triggers are installed. */
  bus: EventBus;
  config: Config;
  log: FastifyBaseLogger;
  /** The outbound policy's https.Agent (src/http/outbound.ts): push endpoints are user-chosen URLs. */
  pushAgent: Agent;
}

/** `o`: the publishing process, which has delivered to its own sockets already. */
type Envelope = { d: Delivery; o?: string } | { r: number; o?: string };

export class RealtimeHub implements Realtime {
  readonly instanceId = randomUUID();
  readonly sockets = new SocketRegistry();
  /** Running totals for /metrics (src/http/metrics.ts): plain numbers, nothing per event beyond an increment. */
  readonly stats = { published: 0, received: 0, delivered: 0 };
  vapidKeys!: VapidKeys;
  private readonly db: Database;
  private readonly bus: EventBus;
  private readonly pingIntervalMs: number;
  private timer?: NodeJS.Timeout;
  /** Deliveries are applied one after another: every socket sees events in publish order. */
  private chain: Promise<void> = Promise.resolve();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly presenceListeners: Array<(change: PresenceChange) => void | Promise<void>> = [];
  private readonly remoteObservers: Array<(delivery: Delivery) => void> = [];
  private closed = false;
  /** Shutting down: sockets close because the process goes, not their users. */
  private goingAway = false;

  private constructor(private readonly options: HubOptions) {
    this.db = options.database.db;
    this.bus = options.bus;
    this.pingIntervalMs = options.config.realtimePingIntervalMs;
  }

  static async start(options: HubOptions): Promise<RealtimeHub> {
    const hub = new RealtimeHub(options);
    await hub.init();
    return hub;
  }

  private get log() {
    return this.options.log;
  }

  private async init() {
    this.vapidKeys = await loadVapidKeys(this.db);
    await this.db.insert(realtimeInstances).values({ id: this.instanceId }).onConflictDoNothing();
    await this.bus.listen(EVENTS_CHANNEL, (text) => this.enqueue(() => this.receive(text)));
    await this.bus.listen(
      SESSION_REVOKED_CHANNEL,
      (sessionId) => this.sockets.closeSessions([sessionId], CLOSE_POLICY_VIOLATION, 'Session revoked'),
      // Revocations may have been missed while the listening connection was down.
      () => this.track(this.revalidateSessions()),
    );
    this.timer = setInterval(() => this.track(this.heartbeat()), this.pingIntervalMs);
    this.timer.unref();
  }

  async publish(delivery: Delivery): Promise<void> {
    if (this.closed) return;
    const userIds = [...new Set(delivery.userIds)].filter((id) => Number.isInteger(id));
    if (userIds.length === 0) return;
    const normalized: Delivery = { ...delivery, userIds };
    this.stats.published += 1;
    if (normalized.webSocket !== false) {
      // This process's sockets get it now, in publish order; the other processes through
      // the bus, which skips it here (npm run bench, fan-out: no NOTIFY round trip locally).
      this.enqueue(() => this.deliver(normalized));
      const text = JSON.stringify({ d: normalized, o: this.instanceId } satisfies Envelope);
      if (Buffer.byteLength(text) <= NOTIFY_PAYLOAD_LIMIT) {
        await this.bus.notify(EVENTS_CHANNEL, text);
      } else {
        const [stored] = await this.db.insert(realtimeEvents).values({ body: text }).returning({ id: realtimeEvents.id });
        await this.bus.notify(EVENTS_CHANNEL, JSON.stringify({ r: stored.id, o: this.instanceId } satisfies Envelope));
      }
    }
    if (normalized.webSocket === false || normalized.push) {
      this.track(this.push(normalized));
    }
  }

  onPresence(listener: (change: PresenceChange) => void | Promise<void>): void {
    this.presenceListeners.push(listener);
  }

  async onlineAmong(userIds: number[]): Promise<Set<number>> {
    const online = new Set(userIds.filter((userId) => this.sockets.countOf({ userId }) > 0));
    const elsewhere = userIds.filter((userId) => !online.has(userId));
    if (elsewhere.length === 0) return online;
    // Other processes' sockets count while their heartbeat is at most three intervals old.
    const rows = await this.db
      .selectDistinct({ userId: deviceSessions.userId })
      .from(realtimeConnections)
      .innerJoin(realtimeInstances, eq(realtimeInstances.id, realtimeConnections.instanceId))
      .innerJoin(deviceSessions, eq(deviceSessions.id, realtimeConnections.sessionId))
      .where(
        and(
          inArray(deviceSessions.userId, elsewhere),
          gt(realtimeInstances.seenAt, sql`now() - make_interval(secs => ${(3 * this.pingIntervalMs) / 1000})`),
        ),
      );
    for (const row of rows) online.add(row.userId);
    return online;
  }

  observeRemote(listener: (delivery: Delivery) => void): void {
    this.remoteObservers.push(listener);
  }

  /** Takes a socket whose device session is authenticated; it receives every event for its user from now on. */
  attach(socket: WebSocket, userId: number, sessionId: string): void {
    if (this.closed) {
      socket.close(CLOSE_GOING_AWAY, 'Server shutting down');
      return;
    }
    // Bounded per process (each process of a cluster allows as many): enough for every tab.
    const limits = this.options.config.webSocketLimits;
    if (this.sockets.countOf({ sessionId }) >= limits.perSession) {
      socket.close(CLOSE_POLICY_VIOLATION, `Too many sockets for this device session (at most ${limits.perSession})`);
      return;
    }
    if (this.sockets.countOf({ userId }) >= limits.perUser) {
      socket.close(CLOSE_POLICY_VIOLATION, `Too many sockets for this user (at most ${limits.perUser})`);
      return;
    }
    const client: SocketClient = { id: randomUUID(), socket, userId, sessionId, alive: true };
    socket.on('pong', () => {
      client.alive = true;
    });
    socket.on('error', (error) => this.log.debug({ err: error }, 'websocket error'));
    const cameOnline = this.sockets.countOf({ userId }) === 0;
    this.sockets.add(client);
    // Recorded for the push fallback; a session revoked meanwhile fails the foreign key.
    const registered = this.db
      .insert(realtimeConnections)
      .values({ id: client.id, instanceId: this.instanceId, sessionId })
      .then(
        () => true,
        () => {
          this.sockets.closeSessions([sessionId], CLOSE_POLICY_VIOLATION, 'Session revoked');
          return false;
        },
      );
    this.track(registered.then((inserted) => (inserted && cameOnline ? this.announce({ userId, isOnline: true, lastSeen: new Date() }) : undefined)));
    socket.on('close', () => {
      this.sockets.remove(client);
      if (this.closed) return;
      this.track(
        registered.then(async (inserted) => {
          if (!inserted) return;
          await this.db.delete(realtimeConnections).where(eq(realtimeConnections.id, client.id));
          if (this.sockets.countOf({ userId }) === 0 && !this.goingAway) await this.wentAway(userId, sessionId);
        }),
      );
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.closeSockets();
    await this.chain;
    await Promise.allSettled([...this.pending]);
    await this.db
      .delete(realtimeInstances)
      .where(eq(realtimeInstances.id, this.instanceId))
      .catch(() => {});
  }

  /** Tells every socket of this process that the server is going away (1001). */
  closeSockets(): void {
    this.goingAway = true;
    for (const client of this.sockets.all()) {
      this.sockets.remove(client);
      client.socket.close(CLOSE_GOING_AWAY, 'Server shutting down');
    }
  }

  /** Resolves once every delivery received so far has been written to the sockets. */
  async drain(): Promise<void> {
    await this.chain;
    await Promise.allSettled([...this.pending]);
  }

  private enqueue(delivery: () => Promise<void>) {
    this.chain = this.chain.then(delivery).catch((error) => this.log.error({ err: error }, 'realtime delivery failed'));
  }

  private async receive(text: string) {
    if (this.closed) return;
    let envelope = JSON.parse(text) as Envelope;
    if (envelope.o === this.instanceId) return;
    this.stats.received += 1;
    if ('r' in envelope) {
      const [stored] = await this.db.select({ body: realtimeEvents.body }).from(realtimeEvents).where(eq(realtimeEvents.id, envelope.r)).limit(1);
      if (!stored) return this.log.warn({ id: envelope.r }, 'stored realtime event is gone');
      envelope = JSON.parse(stored.body) as Envelope;
      if (!('d' in envelope)) return;
    }
    for (const observe of this.remoteObservers) observe(envelope.d);
    await this.deliver(envelope.d);
  }

  private async deliver({ event, userIds }: Delivery) {
    if (this.closed) return;
    // Serialized once per process, whatever the number of sockets.
    const frame = Buffer.from(JSON.stringify({ event: event.event, source: event.source, payload: event.payload ?? null }));
    this.stats.delivered += await this.sockets.deliver(userIds, frame);
  }

  private async push(delivery: Delivery) {
    const evenIfConnected = delivery.webSocket === false;
    // A socket counts while its process's heartbeat is at most three intervals old.
    const targets = await pushTargets(this.db, delivery, 3 * this.pingIntervalMs, evenIfConnected);
    if (targets.length === 0) return;
    await sendPushes(
      { db: this.db, keys: this.vapidKeys, subject: this.options.config.vapidSubject, agent: this.options.pushAgent, log: this.log },
      targets,
      pushPayload(delivery),
      delivery.event.event === 'message',
    );
  }

  /** The user's last socket here closed: lastSeen becomes now (one write per disconnect, none per message). */
  private async wentAway(userId: number, sessionId: string) {
    const lastSeen = new Date();
    await this.db.update(deviceSessions).set({ updatedAt: lastSeen }).where(eq(deviceSessions.id, sessionId));
    // Still connected through another process: not away.
    if ((await this.onlineAmong([userId])).size > 0) return;
    await this.announce({ userId, isOnline: false, lastSeen });
  }

  private async announce(change: PresenceChange) {
    if (this.closed) return;
    for (const listener of this.presenceListeners) await listener(change);
  }

  private async heartbeat() {
    for (const client of this.sockets.all()) {
      if (!client.alive) {
        this.sockets.remove(client);
        client.socket.terminate();
        continue;
      }
      client.alive = false;
      client.socket.ping();
    }
    const beat = await this.db
      .update(realtimeInstances)
      .set({ seenAt: sql`now()` })
      .where(eq(realtimeInstances.id, this.instanceId))
      .returning({ id: realtimeInstances.id });
    if (beat.length === 0) await this.reRegister();
    await this.revalidateSessions();
    // Processes that died without closing, and stored events everyone has loaded.
    await this.db.delete(realtimeInstances).where(lt(realtimeInstances.seenAt, sql`now() - make_interval(secs => ${(20 * this.pingIntervalMs) / 1000})`));
    await this.db.delete(realtimeEvents).where(lt(realtimeEvents.createdAt, sql`now() - ${STORED_EVENT_TTL}`));
  }

  /** This process was taken for dead (a long pause): record it and its sockets again. */
  private async reRegister() {
    await this.db.insert(realtimeInstances).values({ id: this.instanceId }).onConflictDoNothing();
    const clients = this.sockets.all();
    if (clients.length === 0) return;
    const live = await this.liveSessionIds(clients.map((client) => client.sessionId));
    const rows = clients.filter((c) => live.has(c.sessionId)).map((c) => ({ id: c.id, instanceId: this.instanceId, sessionId: c.sessionId }));
    if (rows.length) await this.db.insert(realtimeConnections).values(rows).onConflictDoNothing();
  }

  /** Closes the sockets of sessions that no longer exist (a missed revocation notice). */
  private async revalidateSessions() {
    const sessionIds = this.sockets.sessionIds();
    if (sessionIds.length === 0) return;
    const live = await this.liveSessionIds(sessionIds);
    this.sockets.closeSessions(
      sessionIds.filter((id) => !live.has(id)),
      CLOSE_POLICY_VIOLATION,
      'Session revoked',
    );
  }

  private async liveSessionIds(sessionIds: string[]): Promise<Set<string>> {
    const rows = await this.db.select({ id: deviceSessions.id }).from(deviceSessions).where(inArray(deviceSessions.id, sessionIds));
    return new Set(rows.map((row) => row.id));
  }

  private track(promise: Promise<unknown>) {
    const tracked = promise.catch((error) => {
      if (!this.closed) this.log.warn({ err: error }, 'realtime background task failed');
    });
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }
}
