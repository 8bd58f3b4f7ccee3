// The real server as a child process (`node --import tsx src/main.ts`, or `npm start`),
// for tests that signal, kill and restart it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TEST_LIMITS } from './limits.ts';
import { rawRequest } from './raw-http.ts';

const root = path.resolve(import.meta.dirname, '../..');
export const PG_ADMIN = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Child {
  process: ChildProcess;
  baseUrl: string;
  output: () => string;
  exited: Promise<number | null>;
  /** Signals the server (and, for npm start, npm with it). */
  signal(name: NodeJS.Signals): void;
}

/** The server from source; `npmStart` runs what a user runs instead (the build if stale, then the bundle). */
export function startServer(env: Record<string, string>, { npmStart = false } = {}): Child {
  const [command, args] = npmStart ? ['npm', ['start', '--silent']] : [process.execPath, ['--import', 'tsx', 'src/main.ts']];
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...TEST_LIMITS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // npm starts the server as its own child: signals go to the whole group.
    detached: npmStart,
  });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const signal = (name: NodeJS.Signals) => {
    if (!npmStart || !child.pid) return void child.kill(name);
    try {
      process.kill(-child.pid, name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error; // the group is already gone
    }
  };
  return { process: child, baseUrl: `http://127.0.0.1:${env.PORT}`, output: () => output, exited, signal };
}

export async function ready(child: Child, what = 'server', timeoutMs = 30_000): Promise<void> {
  for (let i = 0; i < timeoutMs / 100; i++) {
    if (child.process.exitCode !== null) throw new Error(`${what} exited: ${child.output()}`);
    const ok = await rawRequest(child.baseUrl, { method: 'GET', path: '/readyz' }).then((r) => r.status === 200, () => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} never became ready: ${child.output()}`);
}

export async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'parley-fault-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export function stopOnTeardown(t: { teardown(fn: () => unknown): void }, child: Child) {
  t.teardown(async () => {
    child.signal('SIGKILL');
    if (child.process.exitCode === null && child.process.signalCode === null) await child.exited;
  });
}

export const json = (method: string, urlPath: string, body?: unknown, token?: string) => ({
  method,
  path: urlPath,
  headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
  body: body === undefined ? undefined : JSON.stringify(body),
});

export async function register(baseUrl: string): Promise<{ id: number; token: string; sessionId: string }> {
  const username = `u${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  const r = await rawRequest(baseUrl, json('POST', '/api/users', { name: 'Fault Test', username, password: 'password1', deviceInfo: { id: randomUUID(), name: 'x', model: 'x', transport: 'none' } }));
  if (r.status !== 200) throw new Error(`register: ${r.status} ${r.text}`);
  const data = r.json as { info: { id: number }; deviceSessions: Array<{ id: string; accessToken: string }> };
  return { id: data.info.id, token: data.deviceSessions[0].accessToken, sessionId: data.deviceSessions[0].id };
}
