// Child processes of the benchmark: every one started here is remembered and stopped at
// the end, on failure and on Ctrl-C alike.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '../..');

export interface Child {
  name: string;
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  group: boolean;
}

const children = new Set<Child>();

export function start(name: string, command: string, args: string[], options: { env?: Record<string, string>; stdin?: boolean; group?: boolean } = {}): Child {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, ...options.env },
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    // Its own process group: stopping `npm start` stops the server npm started too.
    detached: options.group ?? false,
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const entry: Child = { name, process: child, output: () => output, exited, group: options.group ?? false };
  children.add(entry);
  void exited.then(() => children.delete(entry));
  return entry;
}

/** A node script of this repository with tsx, as its own process. */
export function startNode(name: string, script: string, args: string[] = [], options: { env?: Record<string, string>; nodeArgs?: string[]; stdin?: boolean } = {}): Child {
  return start(name, process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', script, ...args], options);
}

/** Runs a worker script to completion and parses the JSON it prints last. */
export async function runWorker<T>(name: string, script: string, config: unknown, options: { nodeArgs?: string[] } = {}): Promise<T> {
  const child = startNode(name, script, [JSON.stringify(config)], options);
  const code = await child.exited;
  const lines = child.output().trim().split('\n');
  const last = lines[lines.length - 1];
  if (code !== 0) throw new Error(`${name} exited ${code}: ${child.output().slice(-2000)}`);
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`${name} printed no result: ${child.output().slice(-2000)}`);
  }
}

export async function stop(child: Child, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  const kill = (sig: NodeJS.Signals) => (child.group && child.process.pid ? process.kill(-child.process.pid, sig) : child.process.kill(sig));
  kill(signal);
  const timer = setTimeout(() => kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((child) => stop(child, 'SIGTERM', 5_000)));
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function getStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const request = http.get(url, { agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', () => resolve(0));
    request.setTimeout(2_000, () => request.destroy());
  });
}

/** Polls `url` until it answers 200; returns the milliseconds waited. */
export async function waitFor200(child: Child, url: string, timeoutMs = 60_000, pollMs = 50): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited: ${child.output().slice(-2000)}`);
    if ((await getStatus(url)) === 200) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  throw new Error(`${child.name} never answered 200 at ${url}: ${child.output().slice(-2000)}`);
}

/** Resident set size of a process in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}
