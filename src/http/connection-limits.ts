// Slow and greedy clients cannot take the server down: a ceiling on concurrent connections
// per client address, Node's own header and keep-alive timers, and deadlines on request
// bodies (a parsed body must arrive whole in time; a streamed upload must keep moving).
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { Config } from '../config.ts';
import { canonicalAddress } from './client-address.ts';

type HttpLimits = Config['http'];

/** Fastify's server options for these limits (fastify passes `http` on to http.createServer). */
export function serverTimeouts(limits: HttpLimits): Pick<FastifyServerOptions, 'keepAliveTimeout' | 'requestTimeout'> & {
  http: { headersTimeout: number; connectionsCheckingInterval: number };
} {
  return {
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // No deadline on the whole request: uploads may take long (the body deadlines below apply).
    requestTimeout: 0,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      // Node looks for late headers on this period (30 s by default, far above the timeout).
      connectionsCheckingInterval: Math.max(25, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
    },
  };
}

/**
 * At most `max` open connections per client address (0: no limit); one more is closed at
 * once, before a byte is read. Also gives each socket its canonical address, so
 * `request.ip` and every per-address limiter see `::ffff:127.0.0.1` as `127.0.0.1`.
 */
export function limitConnectionsPerAddress(server: Server, max: number): void {
  const open = new Map<string, number>();
  // First in line: Node's own listener (which starts parsing) runs after this one.
  server.prependListener('connection', (socket: Socket) => {
    const raw = socket.remoteAddress;
    if (raw === undefined) return socket.destroy();
    const address = canonicalAddress(raw);
    if (address !== raw) {
      Object.defineProperty(socket, 'remoteAddress', { value: address });
      Object.defineProperty(socket, 'remoteFamily', { value: address.includes(':') ? 'IPv6' : 'IPv4' });
    }
    if (max === 0) return;
    const count = open.get(address) ?? 0;
    if (count >= max) return socket.destroy();
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}

/** The error a late body ends with: 408 in each surface's envelope. */
function bodyTimeout(message: string) {
  return Object.assign(new Error(message), { statusCode: 408, code: 'PARLEY_BODY_TIMEOUT' });
}

/**
 * A parsed body (JSON, form) must arrive whole within `bodyTimeoutMs`; a streamed one
 * (application/octet-stream: uploads, read as they arrive) may take longer but ends when
 * no byte comes for `uploadIdleTimeoutMs`. Either way the client gets 408 and the connection closes.
 */
export function limitRequestBodyTime(app: FastifyInstance, limits: HttpLimits): void {
  app.addHook('preParsing', async (request, reply, payload) => {
    const { headers } = request;
    const hasBody = headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
    if (!hasBody) return payload;
    const streamed = /^application\/octet-stream\b/i.test(headers['content-type'] ?? '');
    // The parser reads this copy; on a deadline only the copy fails, so the socket stays
    // open long enough to carry the 408.
    const body = new PassThrough();
    // Nobody may be reading (a handler that answered early): a late deadline must not crash.
    body.on('error', () => {});
    let timer: NodeJS.Timeout | undefined;
    const stop = () => {
      clearTimeout(timer);
      payload.off('data', moving);
    };
    const expire = (message: string) => () => {
      stop();
      if (!reply.sent) reply.header('connection', 'close');
      payload.unpipe(body);
      body.destroy(bodyTimeout(message));
    };
    // Every byte of a streamed body restarts its idle timer.
    const moving = () => timer?.refresh();
    if (streamed) {
      timer = setTimeout(expire(`No data arrived for ${limits.uploadIdleTimeoutMs} ms`), limits.uploadIdleTimeoutMs);
      payload.on('data', moving);
    } else {
      timer = setTimeout(expire(`The request body did not arrive within ${limits.bodyTimeoutMs} ms`), limits.bodyTimeoutMs);
    }
    payload.once('end', stop);
    payload.once('error', (error) => {
      stop();
      body.destroy(error);
    });
    reply.raw.once('close', stop);
    payload.pipe(body);
    return body;
  });
}
