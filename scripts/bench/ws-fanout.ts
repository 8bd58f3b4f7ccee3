// Fan-out latency in its own process: one socket per member of a chat (on `wsBase`), one
// member posting at a fixed rate (to `postBase`); each post carries its send time, each
// socket records how long the `message` frame took to reach it.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
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

const config = JSON.parse(process.argv[2]) as FanoutConfig;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const latencies: number[] = [];
const postLatencies: number[] = [];
const warmupCount = Math.round(config.rate * config.warmupSeconds);
let receipts = 0;

function openSocket(s: { sessionId: string; token: string }): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${config.wsBase.replace(/^http/, 'ws')}/ws/${s.sessionId}`, { headers: { authorization: `Bearer ${s.token}` } });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
    socket.once('close', (code) => reject(new Error(`closed ${code}`)));
    socket.on('message', (data: Buffer) => {
      const received = performance.now();
      const frame = JSON.parse(data.toString()) as { event: string; payload: { text?: string } | null };
      if (frame.event !== 'message' || !frame.payload?.text) return;
      const [tag, seq, sentAt] = frame.payload.text.split(' ');
      if (tag !== 'fanout' || Number(seq) < warmupCount) return;
      receipts += 1;
      latencies.push(received - Number(sentAt));
    });
  });
}

function post(seq: number): Promise<boolean> {
  const sentAt = performance.now();
  const body = JSON.stringify({ localId: `${config.poster.id}+${randomUUID()}`, text: `fanout ${seq} ${sentAt.toFixed(3)}` });
  return new Promise((resolve) => {
    const request = http.request(
      `${config.postBase}/api/chats/${config.chatId}/messages`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${config.poster.token}`, 'content-length': Buffer.byteLength(body) } },
      (response) => {
        response.resume();
        response.on('end', () => {
          if (seq >= warmupCount) postLatencies.push(performance.now() - sentAt);
          resolve(response.statusCode === 200);
        });
      },
    );
    request.on('error', () => resolve(false));
    request.end(body);
  });
}

const sockets: WebSocket[] = [];
for (let i = 0; i < config.sockets.length; i += 20) {
  sockets.push(...(await Promise.all(config.sockets.slice(i, i + 20).map(openSocket))));
}
await new Promise((resolve) => setTimeout(resolve, 500));

const total = warmupCount + Math.round(config.rate * config.seconds);
const interval = 1000 / config.rate;
const pending: Array<Promise<boolean>> = [];
const started = performance.now();
let measuredFrom = started;
for (let seq = 0; seq < total; seq++) {
  const due = started + seq * interval;
  const wait = due - performance.now();
  if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
  if (seq === warmupCount) measuredFrom = performance.now();
  pending.push(post(seq));
}
const measuredSeconds = (performance.now() - measuredFrom) / 1000;
const outcomes = await Promise.all(pending);
const deadline = performance.now() + 3_000;
const expected = (total - warmupCount) * sockets.length;
while (receipts < expected && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
for (const socket of sockets) socket.terminate();
agent.destroy();

const result: FanoutResult = {
  posted: total - warmupCount,
  postFailures: outcomes.filter((ok) => !ok).length,
  expectedReceipts: expected,
  receipts,
  latencyMs: percentiles(latencies),
  postLatencyMs: percentiles(postLatencies),
  achievedRate: Math.round((total - warmupCount) / measuredSeconds),
};
console.log(JSON.stringify(result));
