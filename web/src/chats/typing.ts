// Typing indicators over the API's `notify` (an `auxiliary` event named "typing", never
// stored): sent at most every few seconds while the composer changes, shown for a few seconds.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { LiveEvent, Subscribe } from '../ui/realtime.ts';
import { api, call } from '../ui/api.ts';

const SEND_EVERY_MS = 3_000;
const SHOW_FOR_MS = 5_000;

/** Call on each keystroke; sends "typing" at most once per SEND_EVERY_MS. */
export function useTypingSender(chatId: string) {
  const last = useRef(0);
  return () => {
    const now = Date.now();
    if (now - last.current < SEND_EVERY_MS) return;
    last.current = now;
    call(api.POST('/chats/{chatId}/notify', { params: { path: { chatId } }, body: { name: 'typing', realm: 'webSocket' } })).catch(() => {});
  };
}

/** The ids of the others typing in this chat now. */
export function useTyping(chatId: string, me: number, subscribe: Subscribe): number[] {
  const [typing, setTyping] = useState<Record<number, number>>({});
  useEffect(
    () =>
      subscribe((event: LiveEvent) => {
        const payload = event.payload as { chatId?: string; name?: string; author?: { id: number } } | null | undefined;
        if (payload?.chatId !== chatId) return;
        if (event.event === 'auxiliary' && payload.name === 'typing' && event.source !== String(me)) {
          setTyping((all) => ({ ...all, [Number(event.source)]: Date.now() + SHOW_FOR_MS }));
        } else if (event.event === 'message' && payload.author) {
          // Their message arrived: they stopped typing it.
          const author = payload.author.id;
          setTyping(({ [author]: _done, ...rest }) => rest);
        }
      }),
    [chatId, me],
  );
  // Expire what is stale.
  useEffect(() => {
    const ids = Object.keys(typing);
    if (ids.length === 0) return;
    const timer = setTimeout(() => setTyping((all) => Object.fromEntries(Object.entries(all).filter(([, until]) => until > Date.now()))), 1000);
    return () => clearTimeout(timer);
  }, [typing]);
  return Object.keys(typing).map(Number);
}
