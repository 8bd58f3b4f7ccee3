// An HTTP load generator in its own process: autocannon against one URL, reporting the
// rate of 2xx answers and latency percentiles from every response time (sub-millisecond,
// unlike autocannon's integer histogram). Config: one JSON argument; result: one JSON line.
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { percentiles } from './stats.ts';

export interface LoadConfig {
  url: string;
  connections: number;
  /** Seconds; ignored when `amount` is given. */
  duration?: number;
  amount?: number;
  overallRate?: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** POST bodies `{"localId": "<prefix><uuid>", "text": …}`, a fresh localId per request. */
  uniqueLocalIdPrefix?: string;
  /** Requests to send before measuring (same connections), to warm the JIT and the pools. */
  warmupAmount?: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  ok: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  seconds: number;
}

async function run(config: LoadConfig, measure: boolean): Promise<LoadResult> {
  const times: number[] = [];
  const requests = config.uniqueLocalIdPrefix
    ? [
        {
          method: config.method ?? 'POST',
          headers: config.headers,
          setupRequest: (request: { body?: string }) => ({
            ...request,
            body: JSON.stringify({ localId: `${config.uniqueLocalIdPrefix}${randomUUID()}`, text: 'benchmark message' }),
          }),
        },
      ]
    : undefined;
  const options = {
    url: config.url,
    connections: config.connections,
    duration: config.duration,
    amount: measure ? config.amount : config.warmupAmount,
    overallRate: config.overallRate,
    method: config.method,
    headers: config.headers,
    body: config.body,
    requests,
  };
  // autocannon takes an explicit undefined for a value, not for its default.
  const instance = autocannon(Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as typeof options);
  instance.on('response', (_client: unknown, status: number, _bytes: number, responseTime: number) => {
    if (status >= 200 && status < 300) times.push(responseTime);
  });
  const result = await instance;
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]));
  return {
    requestsPerSecond: result['2xx'] / result.duration,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    statusCodes,
    latencyMs: percentiles(times),
    seconds: result.duration,
  };
}

const config = JSON.parse(process.argv[2]) as LoadConfig;
if (config.warmupAmount) await run(config, false);
console.log(JSON.stringify(await run(config, true)));
