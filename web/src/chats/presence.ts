// Online / last seen of the people in a chat: asked once (GET /users/presence) and again after
// a reconnect, then kept current by `userPresence` events.
import { useEffect, useState } from 'preact/hooks';
import type { components } from '../../../src/generated/messenger.ts';
import { api, call } from '../ui/api.ts';
import type { Subscribe } from '../ui/realtime.ts';

export type Presence = components['schemas']['Presence'];

export function usePresence(userIds: number[], subscribe: Subscribe): Map<number, Presence> {
  const [known, setKnown] = useState(new Map<number, Presence>());
  const key = [...userIds].sort((a, b) => a - b).join(',');
  useEffect(() => {
    if (!key) return;
    const load = () =>
      call(api.GET('/users/presence', { params: { query: { ids: key } } }))
        .then((list) => setKnown(new Map(list.map((entry) => [entry.userId, entry]))))
        // Presence is a nicety: without it the chat works the same.
        .catch(() => {});
    void load();
    const wanted = new Set(key.split(',').map(Number));
    return subscribe((event) => {
      if (event.event === 'resync') return void load();
      const change = event.payload as Presence | null | undefined;
      if (event.event === 'userPresence' && change && wanted.has(change.userId)) setKnown((all) => new Map(all).set(change.userId, change));
    });
  }, [key]);
  return known;
}

/** "online", "last seen today at 14:05", "last seen 3 March at 14:05", or nothing when unknown. */
export function presenceText(presence: Presence | undefined, now = new Date()): string {
  if (!presence) return '';
  if (presence.isOnline) return 'online';
  if (!presence.lastSeen) return '';
  const seen = new Date(presence.lastSeen);
  const time = seen.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (seen.toDateString() === now.toDateString()) return `last seen today at ${time}`;
  return `last seen ${seen.toLocaleDateString([], { day: 'numeric', month: 'long' })} at ${time}`;
}
