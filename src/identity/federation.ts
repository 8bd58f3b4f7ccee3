// Calls to homeservers over the Matrix federation API: the server name resolved as a
// federating server does (./discovery.ts: well-known, SRV, 8448), then small JSON requests
// over HTTPS whose certificate must carry the server name (or its delegated name), never just
// the host connected to (MATRIX_FEDERATION_VERIFY_TLS=false allows any, for test deployments).
// Every connection, the well-known fetch included, goes through the outbound policy's agent
// (no internal addresses, src/http/outbound.ts).
import { request } from 'node:https';
import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { OutboundRefusedError, type OutboundPolicy } from '../http/outbound.ts';
import { DiscoveryError, parseServerName, ServerDiscovery, type FederationTarget } from './discovery.ts';
import { ServerKeys } from './server-keys.ts';

export { parseServerName } from './discovery.ts';

const MAX_RESPONSE_BYTES = 64 * 1024;
const TIMEOUT_MS = 10_000;

export interface FederationResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export class FederationError extends Error {}

/** The server name is not among MATRIX_FEDERATION_ALLOWED_SERVERS: nothing was sent. */
export class FederationRefusedError extends FederationError {}

export class Federation {
  readonly discovery: ServerDiscovery;
  /** Homeservers' signing keys (X-Matrix request auth), cached until their valid_until_ts. */
  readonly serverKeys: ServerKeys;

  constructor(
    private readonly policy: OutboundPolicy,
    private readonly verifyTls: boolean,
    private readonly allowedServers?: string[],
    now: () => number = Date.now,
  ) {
    this.discovery = new ServerDiscovery((target, path) => this.call(target, 'GET', path), policy.resolveSrv, now);
    this.serverKeys = new ServerKeys(this, now);
  }

  /** One request to the target: its addresses in order until one connects (the next SRV target when one is down or refused). */
  private async call(target: FederationTarget, method: string, pathAndQuery: string, body?: unknown, headers: Record<string, string> = {}): Promise<FederationResponse> {
    let lastError: unknown = new FederationError('no address to connect to');
    for (const address of target.addresses) {
      try {
        return await this.send(address, target, method, pathAndQuery, body, headers);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  private send(address: { host: string; port: number }, target: FederationTarget, method: string, pathAndQuery: string, body: unknown, headers: Record<string, string>) {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const tlsName = target.tlsName;
    return new Promise<FederationResponse>((resolve, reject) => {
      const req = request(
        {
          agent: this.policy.agent,
          host: address.host,
          port: address.port,
          method,
          path: pathAndQuery,
          rejectUnauthorized: this.verifyTls,
          // SNI and the certificate check name the server, not the address: no SNI for an IP.
          servername: isIP(tlsName) ? '' : tlsName,
          checkServerIdentity: (_host: string, certificate: PeerCertificate) => checkServerIdentity(tlsName, certificate),
          timeout: TIMEOUT_MS,
          headers: {
            host: target.hostHeader,
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
            ...headers,
          },
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
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new FederationError('timed out')));
      req.on('error', (error) => reject(error instanceof FederationError || error instanceof OutboundRefusedError ? error : new FederationError(error.message)));
      req.end(payload);
    });
  }

  /** Where a server name's federation API listens, and which certificate it must show. */
  async resolve(serverName: string): Promise<FederationTarget> {
    try {
      return await this.discovery.resolve(serverName);
    } catch (error) {
      throw error instanceof DiscoveryError ? new FederationError(error.message) : error;
    }
  }

  async request(serverName: string, method: string, pathAndQuery: string, body?: unknown, headers?: Record<string, string>): Promise<FederationResponse> {
    if (this.allowedServers && !this.allowedServers.includes(serverName.toLowerCase())) {
      throw new FederationRefusedError(`This identity server does not federate with ${serverName}`);
    }
    return this.call(await this.resolve(serverName), method, pathAndQuery, body, headers);
  }
}

/** The server part of a Matrix ID (everything after the first colon). */
export function serverOfMxid(mxid: string): string | undefined {
  const at = mxid.indexOf(':');
  if (!mxid.startsWith('@') || at < 2) return undefined;
  const server = mxid.slice(at + 1);
  return parseServerName(server) ? server : undefined;
}
