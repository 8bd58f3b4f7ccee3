// Calls to homeservers over the Matrix federation API: server discovery (IP literals and
// host:port directly, plain names through .well-known/matrix/server, else port 8448) and
// small JSON requests over HTTPS (MATRIX_FEDERATION_VERIFY_TLS=false allows self-signed).
import { request } from 'node:https';
import { isIP } from 'node:net';

const MAX_RESPONSE_BYTES = 64 * 1024;
const TIMEOUT_MS = 10_000;

export interface FederationResponse {
  status: number;
  body: unknown;
}

export class FederationError extends Error {}

/** The server name is not among MATRIX_FEDERATION_ALLOWED_SERVERS: nothing was sent. */
export class FederationRefusedError extends FederationError {}

/** host, [v6], host:port, [v6]:port; the host a hostname or an IP literal (Matrix server name grammar). */
export function parseServerName(name: string): { host: string; port?: number } | undefined {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z.-]+)(?::(\d{1,5}))?$/.exec(name);
  if (!match) return undefined;
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  const host = match[1];
  if (host.startsWith('[') && isIP(host.slice(1, -1)) !== 6) return undefined;
  if (!host.startsWith('[') && /^[0-9.]+$/.test(host) && isIP(host) !== 4) return undefined;
  if (host.length > 255) return undefined;
  return { host, port };
}

export class Federation {
  constructor(
    private readonly verifyTls: boolean,
    private readonly allowedServers?: string[],
  ) {}

  private call(host: string, port: number, method: string, pathAndQuery: string, body?: unknown, headers: Record<string, string> = {}) {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<FederationResponse>((resolve, reject) => {
      const req = request(
        {
          host: host.replace(/^\[|\]$/g, ''),
          port,
          method,
          path: pathAndQuery,
          rejectUnauthorized: this.verifyTls,
          servername: isIP(host.replace(/^\[|\]$/g, '')) ? undefined : host,
          timeout: TIMEOUT_MS,
          headers: { accept: 'application/json', ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}), ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) req.destroy(new FederationError('response too large'));
            else chunks.push(chunk);
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              parsed = undefined;
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new FederationError('timed out')));
      req.on('error', (error) => reject(error instanceof FederationError ? error : new FederationError(error.message)));
      req.end(payload);
    });
  }

  /** Where a server name's federation API listens. */
  async resolve(serverName: string): Promise<{ host: string; port: number }> {
    const parsed = parseServerName(serverName);
    if (!parsed) throw new FederationError(`Invalid server name ${serverName}`);
    if (parsed.port !== undefined) return { host: parsed.host, port: parsed.port };
    if (parsed.host.startsWith('[') || isIP(parsed.host)) return { host: parsed.host, port: 8448 };
    try {
      const wellKnown = await this.call(parsed.host, 443, 'GET', '/.well-known/matrix/server');
      const delegated = (wellKnown.body as { 'm.server'?: unknown } | undefined)?.['m.server'];
      const target = wellKnown.status === 200 && typeof delegated === 'string' ? parseServerName(delegated) : undefined;
      if (target) return { host: target.host, port: target.port ?? 8448 };
    } catch {
      // No delegation: the server name itself on the federation port.
    }
    return { host: parsed.host, port: 8448 };
  }

  async request(serverName: string, method: string, pathAndQuery: string, body?: unknown, headers?: Record<string, string>): Promise<FederationResponse> {
    if (this.allowedServers && !this.allowedServers.includes(serverName.toLowerCase())) {
      throw new FederationRefusedError(`This identity server does not federate with ${serverName}`);
    }
    const { host, port } = await this.resolve(serverName);
    return this.call(host, port, method, pathAndQuery, body, headers);
  }
}

/** The server part of a Matrix ID (everything after the first colon). */
export function serverOfMxid(mxid: string): string | undefined {
  const at = mxid.indexOf(':');
  if (!mxid.startsWith('@') || at < 2) return undefined;
  const server = mxid.slice(at + 1);
  return parseServerName(server) ? server : undefined;
}
