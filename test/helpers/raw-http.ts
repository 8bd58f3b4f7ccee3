// Raw HTTP for tests that send what no well-behaved client would: unnormalised paths,
// broken JSON, lying Content-Types, chunked bodies without a length.
import http from 'node:http';
import type { Readable } from 'node:stream';
import { deref, type Operation, type Spec, type Surface } from './surfaces.ts';
import type { TestUser } from './messenger.ts';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The parsed body when it was JSON, else undefined. */
  json: unknown;
}

export interface RawRequest {
  method: string;
  /** Path with query string, sent as is. */
  path: string;
  headers?: Record<string, string | number>;
  body?: string | Buffer | Readable;
  /** The client's address (any 127.x.y.z reaches a loopback server), as another client would connect from. */
  localAddress?: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** One request; a keep-alive socket the server closed meanwhile is retried once on a new one. */
export async function rawRequest(baseUrl: string, request: RawRequest): Promise<RawResponse> {
  try {
    return await rawRequestOnce(baseUrl, request);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const replayable = request.body === undefined || typeof request.body === 'string' || Buffer.isBuffer(request.body);
    if (!replayable || (code !== 'ECONNRESET' && code !== 'EPIPE')) throw error;
    return rawRequestOnce(baseUrl, { ...request, headers: { ...request.headers, connection: 'close' } });
  }
}

function rawRequestOnce(baseUrl: string, request: RawRequest): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method: request.method, path: request.path, headers: request.headers, agent, localAddress: request.localAddress },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          if (String(res.headers['content-type'] ?? '').includes('json')) {
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const body = request.body;
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) {
      // GET and DELETE bodies get no length by default; without one the bytes would read as a next request.
      if (!req.hasHeader('content-length') && !req.hasHeader('transfer-encoding')) req.setHeader('content-length', Buffer.byteLength(body));
      req.end(body);
    }
    else {
      body.on('error', (e) => req.destroy(e));
      body.pipe(req);
    }
  });
}

/** Runs `task` over `items` with at most `limit` in flight. */
export async function eachLimited<T>(items: T[], limit: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Credentials of one user, per security scheme of a surface, as request headers. */
export type SchemeHeaders = Record<string, Record<string, string>>;

/**
 * Headers for every security scheme a surface declares: Bearer and Basic from the messenger
 * user; apiKey headers (Rocket.Chat's X-User-Id / X-Auth-Token) from the surface's own
 * `…/login` operation when it has one.
 */
export async function credentialsFor(baseUrl: string, surface: Surface, user: TestUser): Promise<SchemeHeaders> {
  const schemes = (surface.spec.components?.securitySchemes ?? {}) as Record<string, Spec>;
  const out: SchemeHeaders = {};
  let rocketLogin: { userId?: string; authToken?: string } | undefined;
  for (const [name, raw] of Object.entries(schemes)) {
    const scheme = deref(surface.spec, raw);
    if (scheme.type === 'http' && String(scheme.scheme).toLowerCase() === 'bearer') {
      out[name] = { authorization: `Bearer ${user.token}` };
    } else if (scheme.type === 'http' && String(scheme.scheme).toLowerCase() === 'basic') {
      out[name] = { authorization: `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}` };
    } else if (scheme.type === 'apiKey' && scheme.in === 'header') {
      rocketLogin ??= await surfaceLogin(baseUrl, surface, user);
      const header = String(scheme.name).toLowerCase();
      const value = /user/.test(header) ? rocketLogin?.userId : rocketLogin?.authToken;
      if (value) out[name] = { [header]: value };
    }
  }
  return out;
}

async function surfaceLogin(baseUrl: string, surface: Surface, user: TestUser): Promise<{ userId?: string; authToken?: string }> {
  const login = surface.operations.find((op: Operation) => op.method === 'POST' && /\/login$/.test(op.path));
  if (!login) return {};
  const response = await rawRequest(baseUrl, {
    method: 'POST',
    path: `${surface.prefix}${login.path}`,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: user.username, password: user.password }),
  });
  const data = (response.json as { data?: { userId?: string; authToken?: string } } | undefined)?.data;
  return { userId: data?.userId, authToken: data?.authToken };
}

/** Merges the headers of every scheme of one security alternative. */
export function headersForAlternative(alternative: Record<string, string[]>, credentials: SchemeHeaders): Record<string, string> | undefined {
  const headers: Record<string, string> = {};
  for (const name of Object.keys(alternative)) {
    if (!credentials[name]) return undefined;
    Object.assign(headers, credentials[name]);
  }
  return headers;
}
