// 3PID lookups answered from memory: the signed v1 answer and the v2 hash → mxid rows,
// bound or not (a miss is cached too, or every lookup of an unknown address would still cost
// a query). Entries are keyed by the association's lookup hash and go when the change-notice
// trigger on identity_associations reports that hash, in every process (src/db/noticed-cache.ts).
// Bind and unbind wait for their own notice before answering: by then every process's cache
// has dropped the old answer. Validity (not_before/not_after) is checked on every read.
import { ASSOCIATION_CHANGED_CHANNEL } from '../db/change-notices.ts';
import { NoticedCache } from '../db/noticed-cache.ts';
import type { EventBus } from '../realtime/bus.ts';

/** The validity window of a row, checked at read time (the cached row may expire while kept). */
export interface Window {
  notBefore: number;
  notAfter: number;
}

export const isLive = (row: Window, now: number) => row.notBefore <= now && row.notAfter >= now;

/** v1: the association of one (medium, address), signed once; `row` absent when unbound. */
export interface OneAnswer<Signed> {
  row?: Window;
  signed?: Signed;
}

/** v2: every row with this lookup hash (usually none or one). */
export interface HashAnswer {
  rows: Array<Window & { mxid: string }>;
}

const V1 = 'v1\n';

export class LookupCache<Signed extends object> {
  private readonly entries: NoticedCache<string, OneAnswer<Signed> | HashAnswer>;

  constructor(options: { max: number; ttlMs?: number }) {
    this.entries = new NoticedCache({ max: options.max, ttlMs: options.ttlMs ?? 300_000 });
  }

  listen(bus: EventBus): Promise<void> {
    return this.entries.listen(bus, ASSOCIATION_CHANGED_CHANNEL, (hash) => (hash === '*' ? this.entries.clear() : this.forget(hash)));
  }

  /** v1 lookup of the 3PID whose lookup hash is `hash`. */
  one(hash: string, load: () => Promise<OneAnswer<Signed>>): Promise<OneAnswer<Signed>> {
    return this.entries.load(V1 + hash, load) as Promise<OneAnswer<Signed>>;
  }

  /** v2 lookup: cached answers for the hashes it has, `load` for the others (all in one call). */
  async hashes(hashes: string[], load: (missing: string[]) => Promise<Map<string, HashAnswer['rows']>>): Promise<Map<string, HashAnswer['rows']>> {
    const answers = new Map<string, HashAnswer['rows']>();
    const missing: string[] = [];
    for (const hash of hashes) {
      const cached = this.entries.get(hash) as HashAnswer | undefined;
      if (cached) answers.set(hash, cached.rows);
      else missing.push(hash);
    }
    if (missing.length === 0) return answers;
    const epoch = this.entries.epochBefore();
    const loaded = await load(missing);
    for (const hash of missing) {
      const rows = loaded.get(hash) ?? [];
      answers.set(hash, rows);
      this.entries.keep(hash, { rows }, epoch);
    }
    return answers;
  }

  /**
   * Runs a write that changes the associations with these lookup hashes, then waits until its
   * change notices have come back (every listening process has them by then) before returning.
   * `write` returns the hashes it really changed: nothing changed, nothing to wait for.
   */
  async changing<T>(hashes: string[], write: () => Promise<{ result: T; changed: string[] }>): Promise<T> {
    const expected = hashes.map((hash) => this.entries.expect(ASSOCIATION_CHANGED_CHANNEL, hash));
    try {
      const { result, changed } = await write();
      // This process forgets at once, whatever becomes of the notice.
      for (const hash of changed) this.forget(hash);
      await Promise.all(expected.filter((_, i) => changed.includes(hashes[i])).map((e) => e.heard));
      return result;
    } finally {
      for (const e of expected) e.cancel();
    }
  }

  forget(hash: string): void {
    this.entries.forget([hash, V1 + hash]);
  }

  get size(): number {
    return this.entries.size;
  }
}
