// Fan-out latency: one member posting at a fixed rate (to `postBase`) from this process,
// and one socket per member of the chat (on `wsBase`) spread over `receivers` processes of
// their own, so 20,000 frames a second do not queue behind the poster's work. Each post
// carries its send time (epoch milliseconds, the same clock in every process); each socket
// records how long the `message` frame took to reach it.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import readline from 'node:readline';
import WebSocket from 'ws';
import { percentiles } from './stats.ts';

export interface FanoutConfig {
  postBase: string;
  wsBase: string;
  chatId: string;
  poster: { id: number; token: string };
  sockets: Array<{ sessionId: string; token: string }>;
  rate: number;
  seconds: number;
  warmupSeconds: number;
  /** Processes holding the sockets (default 2). */
  receivers?: number;
  /** Several Parley processes: sockets spread over `wsBases`, posts over `postBases` (round robin). */
  wsBases?: string[];
  postBases?: string[];
}

export interface FanoutResult {
  posted: number;
  postFailures: number;
  expectedReceipts: number;
  receipts: number;
  latencyMs: ReturnType<typeof percentiles>;
  postLatencyMs: ReturnType<typeof percentiles>;
  achievedRate: number;
}

interface ReceiverConfig {
  role: 'receive';
  wsBase: string;
  sockets: Array<FanoutConfig['sockets'][number] & { wsBase?: string }>;
  warmupCount: number;
  expected: number;
}

const now = () => performance.timeOrigin + performance.now();
const input = JSON.parse(process.argv[2]) as FanoutConfig | ReceiverConfig;
if ('role' in input) await receive(input);
else await coordinate(input);

/** Holds sockets until `expected` receipts arrived or "stop" comes on stdin; prints the latencies. */
async function receive(config: ReceiverConfig) {
  const latencies: number[] = [];
  const open = (s: ReceiverConfig['sockets'][number]) =>
    new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(`${(s.wsBase ?? config.wsBase).replace(/^http/, 'ws')}/ws/${s.sessionId}`, { headers: { authorization: `Bearer ${s.token}` } });
      socket.once('open', () => resolve(socket));
      socket.once('error', reject);
      socket.once('close', (code) => reject(new Error(`closed ${code}`)));
      socket.on('message', (data: Buffer) => {
        const received = now();
        // Find the tag in the text instead of parsing every frame: this process's own
        // load must not become the latency it reports.
        const text = data.toString();
        const at = text.indexOf('"text":"fanout ');
        if (!text.startsWith('{"event":"message"') || at < 0) return;
        const [seq, sentAt] = text.slice(at + 15, text.indexOf('"', at + 15)).split(' ');
        if (Number(seq) < config.warmupCount) return;
        latencies.push(received - Number(sentAt));
        if (latencies.length >= config.expected) finish();
      });
    });
  const sockets: WebSocket[] = [];
  for (let i = 0; i < config.sockets.length; i += 20) sockets.push(...(await Promise.all(config.sockets.slice(i, i + 20).map(open))));
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    for (const socket of sockets) socket.terminate();
    // Exit only once the (large) line is written: a pipe takes it in pieces.
    process.stdout.write(`${JSON.stringify({ latencies: latencies.map((ms) => Math.round(ms * 1000) / 1000) })}\n`, () => process.exit(0));
  };
  readline.createInterface({ input: process.stdin }).on('line', (line) => line === 'stop' && finish());
  console.log(JSON.stringify({ ready: true }));
}

interface Receiver {
  lines: AsyncIterator<string>;
  stop(): void;
  exited: Promise<void>;
}

/** A receiver process: this script again with tsx, its sockets in the config. */
function startReceiver(config: ReceiverConfig): Receiver {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1], JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return { lines, stop: () => child.stdin!.end('stop\n'), exited };
}

async function nextJson<T>(receiver: Receiver): Promise<T> {
  for (;;) {
    const { value, done } = await receiver.lines.next();
    if (done) throw new Error('a fan-out receiver exited without a result');
    if (value.startsWith('{')) return JSON.parse(value) as T;
  }
}

async function coordinate(config: FanoutConfig) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const postLatencies: number[] = [];
  const warmupCount = Math.round(config.rate * config.warmupSeconds);
  const total = warmupCount + Math.round(config.rate * config.seconds);
  const posted = total - warmupCount;

  const count = Math.max(1, config.receivers ?? 2);
  const sockets = config.sockets.map((s, j) => (config.wsBases ? { ...s, wsBase: config.wsBases[j % config.wsBases.length] } : s));
  const shares = Array.from({ length: count }, (_, i) => sockets.filter((_, j) => j % count === i));
  const receivers = shares.map((sockets) => startReceiver({ role: 'receive', wsBase: config.wsBase, sockets, warmupCount, expected: posted * sockets.length }));
  await Promise.all(receivers.map((receiver) => nextJson<{ ready: boolean }>(receiver)));
  await new Promise((resolve) => setTimeout(resolve, 500));

  const post = (seq: number) =>
    new Promise<boolean>((resolve) => {
      const sentAt = now();
      const body = JSON.stringify({ localId: `${config.poster.id}+${randomUUID()}`, text: `fanout ${seq} ${sentAt.toFixed(3)}` });
      const request = http.request(
        `${config.postBases ? config.postBases[seq % config.postBases.length] : config.postBase}/api/chats/${config.chatId}/messages`,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${config.poster.token}`, 'content-length': Buffer.byteLength(body) } },
        (response) => {
          response.resume();
          response.on('end', () => {
            if (seq >= warmupCount) postLatencies.push(now() - sentAt);
            resolve(response.statusCode === 200);
          });
        },
      );
      request.on('error', () => resolve(false));
      request.end(body);
    });

  const interval = 1000 / config.rate;
  const pending: Array<Promise<boolean>> = [];
  const started = performance.now();
  let measuredFrom = started;
  for (let seq = 0; seq < total; seq++) {
    const wait = started + seq * interval - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    if (seq === warmupCount) measuredFrom = performance.now();
    pending.push(post(seq));
  }
  const measuredSeconds = (performance.now() - measuredFrom) / 1000;
  const outcomes = await Promise.all(pending);
  agent.destroy();
  // Receivers finish on their own once every frame arrived; stragglers get 3 s more.
  const results = receivers.map((receiver) => nextJson<{ latencies: number[] }>(receiver));
  const grace = setTimeout(() => receivers.forEach((receiver) => receiver.stop()), 3_000);
  const latencies = (await Promise.all(results)).flatMap((result) => result.latencies);
  clearTimeout(grace);
  await Promise.all(receivers.map((receiver) => receiver.exited));

  const result: FanoutResult = {
    posted,
    postFailures: outcomes.filter((ok) => !ok).length,
    expectedReceipts: posted * config.sockets.length,
    receipts: latencies.length,
    latencyMs: percentiles(latencies),
    postLatencyMs: percentiles(postLatencies),
    achievedRate: Math.round(posted / measuredSeconds),
  };
  console.log(JSON.stringify(result));
}
