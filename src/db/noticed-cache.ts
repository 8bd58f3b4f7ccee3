// The one pattern for caches of read-mostly rows (../shared/design.md, "Caches of read-mostly rows"): a bounded
// LRU whose entries go when a change-notice trigger (src/db/change-notices.ts) reports a
// change, in every process; a load that overlapped an invalidation is answered but not kept
// (it may have read the old rows); a TTL is the safety net for a lost notice, and a
// (re)connected listener, which may have missed notices, clears everything.
import { LRUCache } from 'lru-cache';
import type { EventBus } from '../realtime/bus.ts';

export interface NoticedCacheOptions<K extends {}, V extends {}> {
  /** Entries kept at most (least recently used go first). */
  max: number;
  /** Or a bound on the entries' total size, as `sizeOf` measures it. */
  maxSize?: { total: number; sizeOf: (value: V) => number };
  /** A safety net for a lost notice; notices normally arrive within milliseconds. */
  ttlMs: number;
  /** Called when an entry leaves for any reason but being replaced (indexes kept beside the cache). */
  onRemove?: (value: V, key: K) => void;
}

export class NoticedCache<K extends {}, V extends {}> {
  private readonly entries: LRUCache<K, V>;
  /** Bumped by every invalidation: a load that overlapped one is not kept. */
  private epoch = 0;
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(options: NoticedCacheOptions<K, V>) {
    const onRemove = options.onRemove;
    this.entries = new LRUCache<K, V>({
      max: options.max,
      ...(options.maxSize ? { maxSize: options.maxSize.total, sizeCalculation: options.maxSize.sizeOf } : {}),
      ttl: options.ttlMs,
      ...(onRemove ? { dispose: (value: V, key: K, reason: LRUCache.DisposeReason) => reason !== 'set' && onRemove(value, key) } : {}),
    });
  }

  /**
   * Runs `onNotice` for every payload of `channel` (this process's own writes included), then
   * wakes whoever `expect`ed that payload.
   */
  listen(bus: EventBus, channel: string, onNotice: (payload: string) => void): Promise<void> {
    return bus.listen(
      channel,
      (payload) => {
        onNotice(payload);
        const waiting = this.waiters.get(`${channel}\n${payload}`);
        if (waiting) for (const wake of waiting) wake();
      },
      () => this.clear(),
    );
  }

  /**
   * Resolves when `payload` arrives on `channel` (or after `timeoutMs`). Call it before the
   * write: a request that waits for its own notice answers only once PostgreSQL has delivered
   * that notice to every listening process, so their next read is already fresh.
   */
  expect(channel: string, payload: string, timeoutMs = 2_000): { heard: Promise<void>; cancel: () => void } {
    const key = `${channel}\n${payload}`;
    let wake!: () => void;
    const heard = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const set = this.waiters.get(key) ?? new Set();
    set.add(wake);
    this.waiters.set(key, set);
    const timer = setTimeout(wake, timeoutMs);
    const cancel = () => {
      clearTimeout(timer);
      set.delete(wake);
      if (set.size === 0 && this.waiters.get(key) === set) this.waiters.delete(key);
      wake();
    };
    void heard.then(cancel);
    return { heard, cancel };
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  /** The cached value, or `load()`'s, kept unless an invalidation overlapped the load. */
  async load(key: K, load: () => Promise<V>): Promise<V> {
    const cached = this.entries.get(key);
    if (cached !== undefined) return cached;
    const epoch = this.epoch;
    const value = await load();
    if (epoch === this.epoch) this.entries.set(key, value);
    return value;
  }

  /** Keeps a value loaded by the caller since `epochBefore()`, unless an invalidation came between. */
  keep(key: K, value: V, epochBefore: number): boolean {
    if (epochBefore !== this.epoch) return false;
    this.entries.set(key, value);
    return true;
  }

  /** For `keep`: the epoch to compare against, taken before the caller's load. */
  epochBefore(): number {
    return this.epoch;
  }

  /** Replaces a value in place (same key, same TTL): not an invalidation. */
  refresh(key: K, value: V): void {
    this.entries.set(key, value, { noUpdateTTL: true });
  }

  forget(keys: Iterable<K>): void {
    this.epoch += 1;
    for (const key of keys) this.entries.delete(key);
  }

  clear(): void {
    this.epoch += 1;
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
