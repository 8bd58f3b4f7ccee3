// The bus alone: Parley's own PostgreSQL bus (src/realtime/pg-bus.ts) notifying at a rate
// raised step by step, and `listeners` listening connections (one per Parley process it
// stands for) timing each payload from notify() to arrival. No HTTP, no sockets: the
// LISTEN/NOTIFY ceiling of this machine, the baseline of the realtime-ceiling scenario.
// Config: one JSON argument; result: one JSON line.
import postgres from 'postgres';
import { createPgBus } from '../../src/realtime/pg-bus.ts';
import type { EventBus } from '../../src/realtime/bus.ts';
import { cpuSeconds, pidsNamed } from './cpu.ts';
import { percentiles } from './stats.ts';

export interface NotifyLoadConfig {
  url: string;
  listeners: number;
  /** Events per second, tried in order until p99 passes `limitMs` or events go missing. */
  rates: number[];
  seconds: number;
  /** Bytes of each payload (a message event's envelope is about this long). */
  payloadBytes: number;
  limitMs: number;
}

export interface NotifyStep {
  rate: number;
  achievedRate: number;
  sent: number;
  received: number;
  latencyMs: ReturnType<typeof percentiles>;
  /** CPU per event: PostgreSQL's processes (other databases' backends included) and this one (notifier and listeners). */
  cpuMsPerEvent: { postgres: number; node: number };
}

const CHANNEL = 'parley_bench_notify';
const config = JSON.parse(process.argv[2]) as NotifyLoadConfig;
const now = () => performance.timeOrigin + performance.now();

const notifier = postgres(config.url, { max: 4, onnotice: () => {} });
const bus = createPgBus(notifier);
const listeners: Array<{ sql: postgres.Sql; bus: EventBus }> = [];
let current: number[] = [];
for (let i = 0; i < config.listeners; i++) {
  const sql = postgres(config.url, { max: 1, onnotice: () => {} });
  const listening = createPgBus(sql);
  // Parsed as the hub parses an envelope: the payload's JSON, then the time in it.
  await listening.listen(CHANNEL, (text) => current.push(now() - (JSON.parse(text) as { t: number }).t));
  listeners.push({ sql, bus: listening });
}
const filler = 'x'.repeat(Math.max(0, config.payloadBytes - 40));

const steps: NotifyStep[] = [];
// A step over the limit is tried once more before it ends the ladder (a shared machine's noise).
for (let at = 0, retried = false; at < config.rates.length; ) {
  const rate = config.rates[at];
  current = [];
  const cpuBefore = { postgres: cpuSeconds(pidsNamed('postgres')), node: process.cpuUsage() };
  const total = Math.round(rate * config.seconds);
  const interval = 1000 / rate;
  const started = performance.now();
  const sends: Array<Promise<void>> = [];
  for (let seq = 0; seq < total; seq++) {
    const wait = started + seq * interval - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    sends.push(bus.notify(CHANNEL, JSON.stringify({ t: now(), s: seq, f: filler })));
  }
  const elapsed = (performance.now() - started) / 1000;
  await Promise.all(sends);
  const expected = total * config.listeners;
  for (let i = 0; i < 100 && current.length < expected; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  const node = process.cpuUsage(cpuBefore.node);
  const cpuMsPerEvent = {
    postgres: Math.round(((cpuSeconds(pidsNamed('postgres')) - cpuBefore.postgres) * 1e6) / total) / 1000,
    node: Math.round((node.user + node.system) / total) / 1000,
  };
  const step: NotifyStep = { rate, achievedRate: Math.round(total / elapsed), sent: total, received: current.length, latencyMs: percentiles(current), cpuMsPerEvent };
  steps.push(step);
  console.error(`[notify] ${rate}/s: p50 ${step.latencyMs.p50} ms, p99 ${step.latencyMs.p99} ms, ${step.received}/${expected}`);
  const passed = step.latencyMs.p99 <= config.limitMs && step.received === expected && step.achievedRate >= rate * 0.9;
  if (passed) [at, retried] = [at + 1, false];
  else if (retried) break;
  else retried = true;
  await new Promise((resolve) => setTimeout(resolve, 500));
}

for (const listener of listeners) {
  await listener.bus.close();
  await listener.sql.end({ timeout: 5 });
}
await notifier.end({ timeout: 5 });
console.log(JSON.stringify({ steps }));
