// Homeservers' signing keys for X-Matrix request auth, fetched from their
// /_matrix/key/v2/server and kept in memory until the response's valid_until_ts (at most
// 7 days): a homeserver's next signed request needs no second fetch. A key past its
// valid_until_ts verifies nothing (as in Synapse's request auth) and is fetched again.
import { LRUCache } from 'lru-cache';
import type { Federation } from './federation.ts';

const MAX_CACHE_MS = 7 * 24 * 3600_000;
/** A key id the cached answer lacks (a rotated key) is looked up again, at most this often per server. */
const UNKNOWN_KEY_REFETCH_MS = 60_000;

interface ServerKeySet {
  keys: Map<string, string>;
  validUntil: number;
  fetchedAt: number;
}

export class ServerKeys {
  private readonly cache = new LRUCache<string, ServerKeySet>({ max: 10_000 });
  private readonly fetches = new Map<string, Promise<ServerKeySet | undefined>>();

  constructor(
    private readonly federation: Pick<Federation, 'request'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The unpadded-base64 ed25519 public key `keyId` of `serverName`, valid now; undefined if it has none. */
  async key(serverName: string, keyId: string): Promise<string | undefined> {
    const now = this.now();
    const cached = this.cache.get(serverName);
    const fresh = cached && now < cached.validUntil && now < cached.fetchedAt + MAX_CACHE_MS;
    if (fresh && (cached.keys.has(keyId) || now < cached.fetchedAt + UNKNOWN_KEY_REFETCH_MS)) return cached.keys.get(keyId);
    const keySet = await this.fetch(serverName);
    return keySet && this.now() < keySet.validUntil ? keySet.keys.get(keyId) : undefined;
  }

  private fetch(serverName: string): Promise<ServerKeySet | undefined> {
    let fetching = this.fetches.get(serverName);
    if (!fetching) {
      fetching = this.download(serverName).finally(() => this.fetches.delete(serverName));
      this.fetches.set(serverName, fetching);
    }
    return fetching;
  }

  private async download(serverName: string): Promise<ServerKeySet | undefined> {
    const response = await this.federation.request(serverName, 'GET', '/_matrix/key/v2/server');
    const body = response.body as { server_name?: unknown; verify_keys?: Record<string, { key?: unknown }>; valid_until_ts?: unknown } | undefined;
    if (response.status !== 200 || body?.server_name !== serverName || typeof body.valid_until_ts !== 'number') return undefined;
    const keys = new Map<string, string>();
    for (const [keyId, entry] of Object.entries(body.verify_keys ?? {})) {
      if (typeof entry?.key === 'string') keys.set(keyId, entry.key);
    }
    const keySet = { keys, validUntil: body.valid_until_ts, fetchedAt: this.now() };
    if (keySet.validUntil > keySet.fetchedAt) this.cache.set(serverName, keySet);
    return keySet;
  }
}
