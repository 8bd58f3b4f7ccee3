// Read marks for what is on screen: an IntersectionObserver watches the others' messages in
// the list, and while the page is visible the newest one seen is marked read — one request,
// since a read mark reads everything before it.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { RefObject } from 'preact';
import { api, call, type MessageInfo } from '../ui/api.ts';

/** Marks arriving together (a page of history, a burst of messages) make one request. */
const SETTLE_MS = 250;

export function useReadMarks(
  chatId: string,
  me: number,
  messages: MessageInfo[],
  list: RefObject<HTMLElement | null>,
  onMarked: (message: MessageInfo) => void,
  onError: (error: unknown) => void,
) {
  const [marked, setMarked] = useState(0);
  const visible = useRef(new Set<number>());
  const requested = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const observer = useRef<IntersectionObserver>(undefined);

  // What the server knows I read: my newest read mark, or my newest own message.
  let readUpTo = marked;
  for (const message of messages) {
    if (message.id > readUpTo && (message.author.id === me || (message.readMarks ?? []).some((mark) => mark.user.id === me))) readUpTo = message.id;
  }
  const readUpToRef = useRef(readUpTo);
  readUpToRef.current = readUpTo;

  const consider = () => {
    if (document.visibilityState !== 'visible' || visible.current.size === 0) return;
    const newest = Math.max(...visible.current);
    if (newest <= readUpToRef.current || newest <= requested.current) return;
    clearTimeout(timer.current);
    timer.current = setTimeout(async () => {
      const target = Math.max(...visible.current, 0);
      if (document.visibilityState !== 'visible' || target <= readUpToRef.current || target <= requested.current) return;
      requested.current = target;
      try {
        const message = await call(api.PUT('/chats/{chatId}/messages/{messageId}/read', { params: { path: { chatId, messageId: target } } }));
        setMarked((known) => Math.max(known, target));
        onMarked(message);
      } catch (error) {
        requested.current = 0;
        onError(error);
      }
    }, SETTLE_MS);
  };
  const considerRef = useRef(consider);
  considerRef.current = consider;

  useEffect(() => {
    observer.current = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          const id = Number((entry.target as HTMLElement).dataset.messageId);
          if (entry.isIntersecting) visible.current.add(id);
          else visible.current.delete(id);
        }
        considerRef.current();
      },
      { root: list.current, threshold: 0.3 },
    );
    const onVisibility = () => considerRef.current();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      observer.current?.disconnect();
      clearTimeout(timer.current);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, []);

  // New messages in the list get watched (observing one twice is a no-op).
  useEffect(() => {
    for (const element of list.current?.querySelectorAll<HTMLElement>('li[data-theirs]') ?? []) observer.current?.observe(element);
    consider();
  }, [messages]);

  return { readUpTo };
}
