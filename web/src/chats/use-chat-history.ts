// A chat and its loaded history: the latest page on open and after a reconnect, older pages
// on scroll-back (kept still on screen), live updates, and what a screen reader hears: only
// new messages from others, never a page of old ones.
import type { RefObject } from 'preact';
import { useEffect, useLayoutEffect, useState, useRef } from 'preact/hooks';
import { api, call, displayName, type ChatInfo, type MessageInfo } from '../ui/api.ts';
import type { LiveEvent, Subscribe } from '../ui/realtime.ts';
import { merge } from './history.ts';

const PAGE = 30;

interface Options {
  chatId: string;
  me: number;
  listed?: ChatInfo;
  subscribe: Subscribe;
  list: RefObject<HTMLDivElement | null>;
  /** Re-render triggers besides the messages that should keep the view at its anchor (the outbox). */
  pendingCount: number;
  onResync: () => void;
  onInfo: (info: string) => void;
  fail: (failure: unknown) => void;
}

export function useChatHistory({ chatId, me, listed, subscribe, list, pendingCount, onResync, onInfo, fail }: Options) {
  const [chat, setChat] = useState<ChatInfo | undefined>(listed);
  const [messages, setMessages] = useState<MessageInfo[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [hasMore, setHasMore] = useState(false);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [scrolledUp, setScrolledUp] = useState(false);
  /** The newest message from someone else, in words, for the live region. */
  const [announcement, setAnnouncement] = useState('');
  // Scroll bookkeeping: keep the view still when older messages are put above it.
  const anchor = useRef<{ kind: 'bottom' } | { kind: 'keep'; height: number; top: number } | undefined>({ kind: 'bottom' });

  const received = (message: MessageInfo) => {
    anchor.current = { kind: 'bottom' };
    setMessages((current) => merge(current, [message]));
  };
  const changed = (message: MessageInfo) => setMessages((current) => merge(current, [message]));

  const loadChat = async () => {
    try {
      setChat(await call(api.GET('/chats/{chatId}', { params: { path: { chatId } } })));
    } catch (failure) {
      fail(failure);
    }
  };

  const loadLatest = async () => {
    try {
      const page = await call(api.GET('/chats/{chatId}/messages', { params: { path: { chatId }, query: { count: PAGE } } }));
      anchor.current = { kind: 'bottom' };
      setMessages((current) => merge(current, page));
      // After a reconnect, older pages already shown stay reachable.
      setHasMore((more) => more || page.length === PAGE);
      setLoaded(true);
    } catch (failure) {
      fail(failure);
    }
  };

  useEffect(() => {
    void loadChat();
    void loadLatest();
  }, []);

  const loadOlder = async () => {
    if (loadingOlder || !hasMore || messages.length === 0) return;
    setLoadingOlder(true);
    try {
      const page = await call(api.GET('/chats/{chatId}/messages', { params: { path: { chatId }, query: { count: PAGE, before: messages[0].id } } }));
      const box = list.current;
      anchor.current = box ? { kind: 'keep', height: box.scrollHeight, top: box.scrollTop } : undefined;
      setMessages((current) => merge(current, page));
      setHasMore(page.length === PAGE);
    } catch (failure) {
      fail(failure);
    } finally {
      setLoadingOlder(false);
    }
  };

  useLayoutEffect(() => {
    const box = list.current;
    const wanted = anchor.current;
    if (!box || !wanted) return;
    if (wanted.kind === 'bottom') box.scrollTop = box.scrollHeight;
    else box.scrollTop = wanted.top + (box.scrollHeight - wanted.height);
    anchor.current = undefined;
  }, [messages, pendingCount]);

  const nearBottom = () => {
    const box = list.current;
    return !box || box.scrollHeight - box.scrollTop - box.clientHeight < 120;
  };
  const onScroll = () => {
    const box = list.current;
    if (box && box.scrollTop < 40) void loadOlder();
    setScrolledUp(!nearBottom());
  };
  const jumpToLatest = () => {
    const box = list.current;
    if (box) box.scrollTop = box.scrollHeight;
    setScrolledUp(false);
  };

  // Live updates for this chat.
  useEffect(
    () =>
      subscribe((event: LiveEvent) => {
        if (event.event === 'resync') {
          void loadLatest();
          void loadChat();
          onResync();
          return;
        }
        const payload = event.payload as (Partial<MessageInfo> & { id?: unknown }) | null | undefined;
        // Events about chats name theirs: `chatId`, or `id` for a ChatInfo.
        const about = payload?.chatId ?? (typeof payload?.id === 'string' ? payload.id : undefined);
        if (about !== chatId) return;
        switch (event.event) {
          case 'message': {
            const message = payload as MessageInfo;
            if (nearBottom() || message.author.id === me) anchor.current = { kind: 'bottom' };
            setMessages((current) => merge(current, [message]));
            if (message.author.id !== me) setAnnouncement(`${displayName(message.author)}: ${message.text || 'sent an attachment'}`);
            break;
          }
          case 'messageUpdate':
          case 'messageRead':
            setMessages((current) => (current.some((m) => m.id === payload?.id) ? merge(current, [payload as MessageInfo]) : current));
            break;
          case 'chatCleared':
            setMessages([]);
            onInfo('The chat history was cleared.');
            break;
          case 'chatUpdate':
          case 'addedUsers':
          case 'removedUsers':
            void loadChat();
            break;
        }
      }),
    [chatId, me],
  );

  return { chat, setChat, messages, received, changed, loaded, hasMore, loadingOlder, loadOlder, onScroll, scrolledUp, jumpToLatest, announcement };
}
