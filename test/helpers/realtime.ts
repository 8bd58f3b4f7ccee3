// Real WebSocket clients (the `ws` package) against a running Parley, with timeouts.
import type { IncomingHttpHeaders } from 'node:http';
import { WebSocket } from 'ws';
import { deviceInfo, messengerClient, basicAuth, type TestUser, type DeviceInfo } from './messenger.ts';

export interface Frame {
  event: string;
  source: string;
  payload: unknown;
}

export interface Closed {
  code: number;
  reason: string;
}

/** One socket and everything it received, in order. */
export class SocketProbe {
  readonly frames: Frame[] = [];
  /** Frames that were not binary JSON (the protocol forbids them). */
  readonly malformed: unknown[] = [];
  pings = 0;
  closed?: Closed;
  /** The headers of the 101 answer (behind a load balancer they may say which process it is). */
  upgradeHeaders?: IncomingHttpHeaders;
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      try {
        if (!isBinary) throw new Error('text frame');
        this.frames.push(JSON.parse((data as Buffer).toString('utf8')) as Frame);
      } catch {
        this.malformed.push(data);
      }
      this.wake();
    });
    socket.on('ping', () => {
      this.pings += 1;
      this.wake();
    });
    socket.on('upgrade', (response) => {
      this.upgradeHeaders = response.headers;
    });
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    socket.on('error', () => {});
  }

  /** Connects to /ws/<sessionId>; `auth` chooses how the token travels. Resolves once open (or closed). */
  static async open(baseUrl: string, sessionId: string, token: string | undefined, auth: 'bearer' | 'query' = 'bearer'): Promise<SocketProbe> {
    const url = new URL(`/ws/${sessionId}`, baseUrl.replace(/^http/, 'ws'));
    if (token && auth === 'query') url.searchParams.set('token', token);
    const headers: Record<string, string> = token && auth === 'bearer' ? { authorization: `Bearer ${token}` } : {};
    const socket = new WebSocket(url, { headers });
    const probe = new SocketProbe(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('close', () => resolve());
      socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
      socket.once('error', reject);
    });
    return probe;
  }

  private wake() {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Waits until `condition` holds, or throws after `ms`. */
  async until<T>(condition: () => T | undefined | false, what: string, ms = 5_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = condition();
      if (value) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}; frames: ${JSON.stringify(this.frames.map((f) => f.event))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The first received frame (after `after` frames) matching `predicate`. */
  next(predicate: (frame: Frame) => boolean, what = 'a frame', ms?: number): Promise<Frame> {
    return this.until(() => this.frames.find(predicate), what, ms);
  }

  event(name: string, ms?: number): Promise<Frame> {
    return this.next((frame) => frame.event === name, `event ${name}`, ms);
  }

  /** Frames with this event name received so far. */
  count(name: string): number {
    return this.frames.filter((frame) => frame.event === name).length;
  }

  waitClosed(ms?: number): Promise<Closed> {
    return this.until(() => this.closed, 'the socket to close', ms);
  }

  close() {
    if (!this.closed) this.socket.terminate();
  }
}

/** Logs the user in on another device: a new device session with its own token. */
export async function loginDevice(baseUrl: string, user: TestUser, device: Partial<DeviceInfo> = {}): Promise<{ token: string; sessionId: string }> {
  const { data, response } = await messengerClient(baseUrl, { authorization: basicAuth(user.username, user.password) }).POST('/users/login', {
    body: { deviceInfo: { ...deviceInfo('second device'), ...device } },
  });
  if (!data) throw new Error(`login failed: ${response.status}`);
  const session = data.deviceSessions[0];
  return { token: session.accessToken, sessionId: session.id };
}

/** Opens sockets like SocketProbe.open and closes every one of them when the test ends. */
export function socketOpener(t: { teardown(fn: () => unknown): void }): (...args: Parameters<typeof SocketProbe.open>) => Promise<SocketProbe> {
  const probes: SocketProbe[] = [];
  t.teardown(() => probes.forEach((probe) => probe.close()));
  return async (...args) => {
    const probe = await SocketProbe.open(...args);
    probes.push(probe);
    return probe;
  };
}
