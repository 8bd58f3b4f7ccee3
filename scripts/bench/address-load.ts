// HTTP load from one client address (any 127.x.y.z reaches a loopback server), which
// autocannon cannot choose: `connections` loops send password requests back to back for
// `seconds`, each a fresh body (a new username to register, a user id to reset, a device to
// log in). Reports latency percentiles of the 2xx answers and every status. Config: one JSON
// argument; result: one JSON line.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { percentiles } from './stats.ts';

export type AddressRequest =
  | { kind: 'register'; password: string }
  | { kind: 'reset'; userIds: number[] }
  | { kind: 'login'; username: string; password: string };

export interface AddressLoadConfig {
  base: string;
  localAddress: string;
  connections: number;
  seconds: number;
  /** Each connection takes the next one in turn. */
  requests: AddressRequest[];
}

export interface AddressLoadResult {
  requests: number;
  requestsPerSecond: number;
  ok: number;
  statusCodes: Record<string, number>;
  errors: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
}

const config = JSON.parse(process.argv[2]) as AddressLoadConfig;
const url = new URL(config.base);
const agent = new http.Agent({ keepAlive: true, maxSockets: config.connections, localAddress: config.localAddress });
const device = () => ({ id: randomUUID(), name: 'bench', model: 'bench', transport: 'none' });
let counter = 0;

function build(request: AddressRequest): { method: string; path: string; headers: Record<string, string>; body: string } {
  const json = { 'content-type': 'application/json' };
  counter += 1;
  switch (request.kind) {
    case 'register':
      return {
        method: 'POST',
        path: '/api/users',
        headers: json,
        body: JSON.stringify({ name: 'Flood', username: `f${randomUUID().replace(/-/g, '').slice(0, 20)}`, password: request.password, deviceInfo: device() }),
      };
    case 'reset':
      return {
        method: 'POST',
        path: '/api/users/resetPassword',
        headers: json,
        body: JSON.stringify({ userId: request.userIds[counter % request.userIds.length], accountKey: 'not-the-key'.repeat(3), newPassword: 'benchpass2' }),
      };
    case 'login':
      return {
        method: 'POST',
        path: '/api/users/login',
        headers: { ...json, authorization: `Basic ${Buffer.from(`${request.username}:${request.password}`).toString('base64')}` },
        body: JSON.stringify({ deviceInfo: device() }),
      };
  }
}

function send(request: AddressRequest): Promise<number> {
  const { method, path, headers, body } = build(request);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path, headers: { ...headers, 'content-length': Buffer.byteLength(body) }, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const times: number[] = [];
const statusCodes: Record<string, number> = {};
let errors = 0;
let sent = 0;
const started = performance.now();
const deadline = started + config.seconds * 1000;

async function loop(connection: number) {
  let turn = connection;
  while (performance.now() < deadline) {
    const request = config.requests[turn++ % config.requests.length];
    const before = performance.now();
    sent += 1;
    try {
      const status = await send(request);
      statusCodes[status] = (statusCodes[status] ?? 0) + 1;
      if (status >= 200 && status < 300) times.push(performance.now() - before);
    } catch {
      errors += 1;
    }
  }
}

await Promise.all(Array.from({ length: config.connections }, (_, i) => loop(i)));
agent.destroy();
const seconds = (performance.now() - started) / 1000;
const result: AddressLoadResult = {
  requests: sent,
  requestsPerSecond: sent / seconds,
  ok: times.length,
  statusCodes,
  errors,
  latencyMs: percentiles(times),
};
console.log(JSON.stringify(result));
