// The bus over PostgreSQL LISTEN/NOTIFY (postgres.js): one dedicated listening connection
// per process, reconnected by postgres.js; NOTIFY goes through the pool.
import type postgres from 'postgres';
import type { EventBus } from './bus.ts';

/** Notifications sent in one statement at most. */
const MAX_BATCH = 200;

interface Pending {
  channel: string;
  payload: string;
  resolve(): void;
  reject(error: unknown): void;
}

export function createPgBus(sql: postgres.Sql): EventBus {
  const subscriptions: Array<{ unlisten(): Promise<void> }> = [];
  const queue: Pending[] = [];
  let flushing = false;

  // PostgreSQL serializes the commits of every notifying transaction on one lock, held
  // through the commit's WAL flush. So notifications queue while one statement is in flight
  // and the next statement carries them all (in order), and that commit does not wait for
  // the flush: a notification has nothing to lose, the change it announces is already
  // durable (npm run bench, post message).
  async function flush() {
    while (queue.length > 0) {
      const batch = queue.splice(0, MAX_BATCH);
      try {
        await sql`select set_config('synchronous_commit', 'off', true), pg_notify(n.channel, n.payload)
          from unnest(${batch.map((p) => p.channel)}::text[], ${batch.map((p) => p.payload)}::text[]) as n(channel, payload)`;
        for (const pending of batch) pending.resolve();
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    }
    flushing = false;
  }

  return {
    notify(channel, payload) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ channel, payload, resolve, reject });
        if (!flushing) {
          flushing = true;
          void flush();
        }
      });
    },
    async listen(channel, onMessage, onListen) {
      subscriptions.push(await sql.listen(channel, onMessage, onListen));
    },
    async close() {
      await Promise.all(subscriptions.splice(0).map((subscription) => subscription.unlisten().catch(() => {})));
    },
  };
}
