// The bus over embedded PGlite: LISTEN/NOTIFY inside this one process (PGlite serves a
// single process), with the same commit semantics as PostgreSQL.
import type { PGlite } from '@electric-sql/pglite';
import type { EventBus } from './bus.ts';

export function createLocalBus(pglite: PGlite): EventBus {
  const unsubscribes: Array<() => Promise<void>> = [];
  return {
    async notify(channel, payload) {
      await pglite.query('select pg_notify($1, $2)', [channel, payload]);
    },
    async listen(channel, onMessage, onListen) {
      unsubscribes.push(await pglite.listen(channel, onMessage));
      onListen?.();
    },
    async close() {
      if (pglite.closed) return;
      await Promise.all(unsubscribes.splice(0).map((unsubscribe) => unsubscribe().catch(() => {})));
    },
  };
}
