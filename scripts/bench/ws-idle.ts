// Idle sockets in their own process: opens one authenticated socket per session listed in
// the JSON file named by the argument, answers pings (ws does), prints `open <n> <failed>` when done and holds them until
// stdin closes.
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

const { wsBase, sessions, concurrency } = JSON.parse(readFileSync(process.argv[2], 'utf8')) as { wsBase: string; sessions: Array<{ sessionId: string; token: string }>; concurrency: number };
const sockets: WebSocket[] = [];
let failed = 0;
let firstError = '';

function open(s: { sessionId: string; token: string }): Promise<void> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${wsBase.replace(/^http/, 'ws')}/ws/${s.sessionId}`, { headers: { authorization: `Bearer ${s.token}` } });
    const fail = (why: string) => {
      failed += 1;
      firstError ||= why;
      resolve();
    };
    socket.once('open', () => {
      sockets.push(socket);
      socket.removeAllListeners('error');
      socket.on('error', () => {});
      resolve();
    });
    socket.once('error', (error) => fail(String(error)));
  });
}

let next = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < sessions.length) await open(sessions[next++]);
  }),
);
// A socket the server refused is closed right after opening (1008): count those too.
await new Promise((resolve) => setTimeout(resolve, 1_000));
const alive = sockets.filter((socket) => socket.readyState === WebSocket.OPEN).length;
console.log(JSON.stringify({ open: alive, failed: failed + (sockets.length - alive), firstError }));
process.stdin.resume();
process.stdin.on('end', () => {
  for (const socket of sockets) socket.terminate();
  process.exit(0);
});
