// The bus over PostgreSQL LISTEN/NOTIFY (postgres.js): one dedicated listening connection
// per process, reconnected by postgres.js; NOTIFY goes through the pool.
import type postgres from 'postgres';
import type { EventBus } from './bus.ts';

export function createPgBus(sql: postgres.Sql): EventBus {
  const subscriptions: Array<{ unlisten(): Promise<void> }> = [];
  return {
    async notify(channel, payload) {
      await sql.notify(channel, payload);
    },
    async listen(channel, onMessage, onListen) {
      subscriptions.push(await sql.listen(channel, onMessage, onListen));
    },
    async close() {
      await Promise.all(subscriptions.splice(0).map((subscription) => subscription.unlisten().catch(() => {})));
    },
  };
}
