// GET /metrics: Prometheus text format (prom-client), one registry per app so tests can build
// many apps. Request durations are observed once per response (route pattern, never the raw
// URL); everything else is read when scraped, so serving requests costs nothing more.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { hashingQueueLength } from '../auth/passwords.ts';
import type { DatabaseHandle } from '../db/client.ts';
import type { EventBus } from '../realtime/bus.ts';
import type { RealtimeHub } from '../realtime/hub.ts';
import { MESSAGE_SENT, RATE_LIMIT_REFUSED, type MessageEvent, type RefusalEvent } from './metric-events.ts';

/** The bus lag probe's channel: every process hears every probe and keeps only its own. */
const PROBE_CHANNEL = 'parley_bus_probe';
/** A probe not back by then reports this lag (a lower bound): the scrape must not hang. */
const PROBE_TIMEOUT_MS = 5_000;

export interface MetricsSources {
  database: DatabaseHandle;
  bus: EventBus;
  hub: RealtimeHub;
  /** METRICS_TOKEN: when set, scrapes need `Authorization: Bearer <token>`. */
  token?: string;
}

export async function installMetrics(app: FastifyInstance, { database, bus, hub, token }: MetricsSources): Promise<void> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const requests = new Histogram({
    name: 'parley_http_request_duration_seconds',
    help: 'Time from request to response, by route pattern and status',
    labelNames: ['method', 'route', 'status_code'],
    registers: [registry],
  });
  // Once per response: the route's pattern (bounded label values); unmatched URLs share one.
  app.addHook('onResponse', async (request, reply) => {
    requests.observe({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: reply.statusCode }, reply.elapsedTime / 1000);
  });

  new Gauge({
    name: 'parley_websockets_open',
    help: 'Realtime WebSockets open in this process',
    registers: [registry],
    collect() {
      this.set(hub.sockets.size);
    },
  });
  // The hub counts in plain numbers; the counters take their totals when scraped.
  const fromHub = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  fromHub('parley_realtime_events_published_total', 'Realtime events published by this process', () => hub.stats.published);
  fromHub('parley_realtime_events_received_total', 'Realtime events of other processes received from the bus', () => hub.stats.received);
  fromHub('parley_realtime_frames_delivered_total', 'Event frames written to WebSockets of this process', () => hub.stats.delivered);

  const lag = new Gauge({
    name: 'parley_bus_lag_seconds',
    help: `Round trip of a NOTIFY from this process back to it, measured when scraped (${PROBE_TIMEOUT_MS / 1000} s: no answer)`,
    registers: [registry],
    collect: () => probe(),
  });
  const probeId = randomUUID();
  let waiting: { sentAt: number; done(): void } | undefined;
  let inFlight: Promise<void> | undefined;
  await bus.listen(PROBE_CHANNEL, (payload) => {
    if (payload !== probeId || !waiting) return;
    lag.set((performance.now() - waiting.sentAt) / 1000);
    waiting.done();
  });
  function probe(): Promise<void> {
    inFlight ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        lag.set(PROBE_TIMEOUT_MS / 1000);
        finish();
      }, PROBE_TIMEOUT_MS);
      const finish = () => {
        clearTimeout(timer);
        waiting = undefined;
        inFlight = undefined;
        resolve();
      };
      waiting = { sentAt: performance.now(), done: finish };
      bus.notify(PROBE_CHANNEL, probeId).catch(finish);
    });
    return inFlight;
  }

  // postgres.js does not expose its busy connections: the configured pool size, and the
  // server's view of this database's connections (every process's) by state.
  new Gauge({
    name: 'parley_db_pool_max',
    help: 'Connections this process may open to the database (PGlite: one embedded connection)',
    registers: [registry],
    collect() {
      this.set(database.postgres?.options.max ?? 1);
    },
  });
  const pg = database.postgres;
  if (pg) {
    new Gauge({
      name: 'parley_db_connections',
      help: "Client connections to this PostgreSQL database (all processes), by state from pg_stat_activity; 'active' are in use",
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        this.reset();
        // An unreachable database must not fail the whole scrape: the gauge is left out then.
        const rows = await pg<Array<{ state: string | null; count: number }>>`
          select coalesce(state, 'unknown') as state, count(*)::int as count from pg_stat_activity
          where datname = current_database() and backend_type = 'client backend' group by 1`.catch(() => undefined);
        if (!rows) return;
        for (const state of ['active', 'idle', 'idle in transaction']) this.set({ state }, 0);
        for (const row of rows) this.set({ state: row.state ?? 'unknown' }, row.count);
      },
    });
  }

  new Gauge({
    name: 'parley_argon2_queue_length',
    help: 'Password hashes waiting for a hashing slot',
    registers: [registry],
    collect() {
      this.set(hashingQueueLength());
    },
  });

  const messages = new Counter({ name: 'parley_messages_total', help: 'Mails and text messages, by medium and outcome', labelNames: ['medium', 'outcome'], registers: [registry] });
  for (const medium of ['mail', 'sms']) for (const outcome of ['sent', 'failed']) messages.inc({ medium, outcome }, 0);
  const refusals = new Counter({ name: 'parley_rate_limit_refusals_total', help: 'Requests refused by a rate limiter, by limiter', labelNames: ['limiter'], registers: [registry] });
  const onMessage = (event: unknown) => messages.inc({ medium: (event as MessageEvent).medium, outcome: (event as MessageEvent).outcome });
  const onRefusal = (event: unknown) => refusals.inc({ limiter: (event as RefusalEvent).limiter });
  MESSAGE_SENT.subscribe(onMessage);
  RATE_LIMIT_REFUSED.subscribe(onRefusal);
  app.addHook('onClose', async () => {
    MESSAGE_SENT.unsubscribe(onMessage);
    RATE_LIMIT_REFUSED.unsubscribe(onRefusal);
  });

  const expected = token ? digest(`Bearer ${token}`) : undefined;
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (expected && !timingSafeEqual(digest(request.headers.authorization ?? ''), expected)) {
      return reply.code(401).header('www-authenticate', 'Bearer realm="metrics"').type('text/plain; charset=utf-8').send('A metrics token is required\n');
    }
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}

/** Equal-length digests, so the comparison takes the same time whatever the header holds. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
