// A concurrency limit that shares its slots fairly between keys (client addresses): each
// free slot goes to the waiting key served least recently (round robin), up to its share of
// the slots, so a key that floods waits behind its own jobs, not in front of everyone else's.
// No maintained npm package queues fairly by key (p-limit and p-queue are one FIFO).

export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';

  constructor(readonly key: string) {
    super(`Too many jobs waiting for ${key}`);
  }
}

export class FairQueue {
  /** Jobs not started yet, per key. */
  private readonly waiting = new Map<string, Array<() => void>>();
  private readonly active = new Map<string, number>();
  /** When each key with work was last given a slot (a count of slots given). */
  private readonly lastServed = new Map<string, number>();
  private served = 0;
  private running = 0;

  /**
   * @param concurrency jobs running at once, over all keys
   * @param maxWaitingPerKey jobs one key may have waiting; beyond, run() rejects with QueueFullError
   */
  constructor(
    readonly concurrency: number,
    readonly maxWaitingPerKey: number,
  ) {}

  run<T>(key: string, job: () => Promise<T>): Promise<T> {
    const queue = this.waiting.get(key) ?? [];
    if (queue.length >= this.maxWaitingPerKey) return Promise.reject(new QueueFullError(key));
    return new Promise<T>((resolve, reject) => {
      queue.push(() => {
        let running: Promise<T>;
        try {
          running = job();
        } catch (error) {
          running = Promise.reject(error);
        }
        running.then(resolve, reject).finally(() => this.finish(key));
      });
      if (!this.waiting.has(key)) this.waiting.set(key, queue);
      this.dispatch();
    });
  }

  /** Jobs waiting for a slot (all keys), for tests and metrics. */
  get pending(): number {
    let count = 0;
    for (const queue of this.waiting.values()) count += queue.length;
    return count;
  }

  private dispatch(): void {
    while (this.running < this.concurrency && this.waiting.size > 0) {
      const key = this.nextKey();
      const queue = this.waiting.get(key)!;
      const start = queue.shift()!;
      if (queue.length === 0) this.waiting.delete(key);
      this.served += 1;
      this.lastServed.set(key, this.served);
      this.running += 1;
      this.active.set(key, (this.active.get(key) ?? 0) + 1);
      start();
    }
  }

  /** The waiting key served least recently among those holding less than their share of the slots. */
  private nextKey(): string {
    let keys = this.waiting.size;
    for (const key of this.active.keys()) if (!this.waiting.has(key)) keys += 1;
    const share = Math.ceil(this.concurrency / keys);
    let best: string | undefined;
    let fallback: string | undefined;
    const earlier = (a: string, b: string | undefined) => b === undefined || (this.lastServed.get(a) ?? 0) < (this.lastServed.get(b) ?? 0);
    for (const key of this.waiting.keys()) {
      if ((this.active.get(key) ?? 0) < share && earlier(key, best)) best = key;
      if (earlier(key, fallback)) fallback = key;
    }
    // Every waiting key already holds its share: a busy slot is still better than an idle one.
    return best ?? fallback!;
  }

  private finish(key: string): void {
    this.running -= 1;
    const left = (this.active.get(key) ?? 1) - 1;
    if (left > 0) this.active.set(key, left);
    else this.active.delete(key);
    if (left <= 0 && !this.waiting.has(key)) this.lastServed.delete(key);
    this.dispatch();
  }
}
