// Resolved access tokens kept in memory, so a read request costs no query to authenticate
// (npm run bench, read profile). Only safe methods use it: a request that changes state
// resolves its token from the database, so every write and its permission checks see
// fresh rows. Entries go when the change-notice triggers report that their session, user
// or photos changed (every process, this one included), when a request that changed state
// answers (its own user: clients read their own writes), and after a TTL at the latest.
// The mechanism is the shared one of src/db/noticed-cache.ts.
import type { EventBus } from '../realtime/bus.ts';
import { SESSION_REVOKED_CHANNEL, USER_CHANGED_CHANNEL } from '../db/change-notices.ts';
import type { Database } from '../db/client.ts';
import { NoticedCache } from '../db/noticed-cache.ts';
import { hashToken } from './tokens.ts';
import { loadAccessToken, refreshActivity, resolveAccessToken, type AuthContext } from './sessions.ts';

export interface AuthCacheOptions {
  /** Entries kept at most (least recently used go first). */
  max?: number;
  /** A safety net for a lost notice; notices normally arrive within milliseconds. */
  ttlMs?: number;
}

type Entry = Omit<AuthContext, 'accessToken'>;

export class AuthCache {
  private readonly entries: NoticedCache<string, Entry>;
  private readonly tokensOfUser = new Map<number, Set<string>>();
  private readonly tokenOfSession = new Map<string, string>();

  constructor(
    private readonly db: Database,
    options: AuthCacheOptions = {},
  ) {
    this.entries = new NoticedCache<string, Entry>({
      max: options.max ?? 10_000,
      ttlMs: options.ttlMs ?? 30_000,
      // A replaced value keeps its token, session and user: its index entries stay.
      onRemove: (entry, tokenHash) => this.unindex(entry, tokenHash),
    });
  }

  /** Subscribes to the change notices; a (re)connected listener may have missed some, so all entries go then. */
  async listen(bus: EventBus): Promise<void> {
    await this.entries.listen(bus, SESSION_REVOKED_CHANNEL, (sessionId) => this.forgetSession(sessionId));
    await this.entries.listen(bus, USER_CHANGED_CHANNEL, (userId) => this.forgetUser(Number(userId)));
  }

  /** For a request: safe methods from memory, any other from the database. */
  resolveFor(method: string, accessToken: string): Promise<AuthContext | undefined> {
    return method === 'GET' || method === 'HEAD' ? this.resolve(accessToken) : resolveAccessToken(this.db, accessToken);
  }

  /** The token's session and user, from memory when possible. */
  async resolve(accessToken: string): Promise<AuthContext | undefined> {
    const tokenHash = hashToken(accessToken);
    const cached = this.entries.get(tokenHash);
    if (cached) {
      const session = refreshActivity(this.db, cached.session);
      if (session !== cached.session) this.entries.refresh(tokenHash, { ...cached, session });
      return { ...cached, session, accessToken };
    }
    const epoch = this.entries.epochBefore();
    const loaded = await loadAccessToken(this.db, tokenHash, { photos: true });
    if (!loaded) return undefined;
    if (this.entries.keep(tokenHash, loaded, epoch)) this.index(tokenHash, loaded);
    return { ...loaded, accessToken };
  }

  forgetUser(userId: number): void {
    this.entries.forget([...(this.tokensOfUser.get(userId) ?? [])]);
  }

  forgetSession(sessionId: string): void {
    const tokenHash = this.tokenOfSession.get(sessionId);
    this.entries.forget(tokenHash ? [tokenHash] : []);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private index(tokenHash: string, entry: Entry) {
    const tokens = this.tokensOfUser.get(entry.user.id) ?? new Set<string>();
    tokens.add(tokenHash);
    this.tokensOfUser.set(entry.user.id, tokens);
    this.tokenOfSession.set(entry.session.id, tokenHash);
  }

  private unindex(entry: Entry, tokenHash: string) {
    const tokens = this.tokensOfUser.get(entry.user.id);
    tokens?.delete(tokenHash);
    if (tokens?.size === 0) this.tokensOfUser.delete(entry.user.id);
    if (this.tokenOfSession.get(entry.session.id) === tokenHash) this.tokenOfSession.delete(entry.session.id);
  }
}
