// The chat list and its unread counts: one request for both (GET /chats?full=1), kept
// current by the live events; a hidden tab's chat also counts, notifies and chimes.
import { useCallback, useRef, useState } from 'preact/hooks';
import { api, call, chatTitle, errorText, type ChatInfo, type MessageInfo } from '../ui/api.ts';
import { chime, notifyHere } from '../ui/notifications.ts';
import type { LiveEvent } from '../ui/realtime.ts';

interface Options {
  me: number;
  /** The chat on screen now, if any: it counts its own unread messages. */
  openChatId: () => string | undefined;
  /** Handles a 401 (the session ended); false for any other failure. */
  expired: (error: unknown) => boolean;
  /** A chat I can no longer see (removed, deleted): say why. */
  onGone: (chatId: string, why: string) => void;
}

export function useChatList({ me, openChatId, expired, onGone }: Options) {
  const [chats, setChats] = useState<ChatInfo[]>([]);
  const [unread, setUnread] = useState<Record<string, number>>({});
  const [listError, setListError] = useState('');
  const chatsRef = useRef(chats);
  chatsRef.current = chats;

  const loadChats = useCallback(async () => {
    try {
      const list = await call(api.GET('/chats', { params: { query: { full: '1' } } }));
      setChats(list);
      setUnread((known) => {
        const open = openChatId();
        // The open chat counts what it shows itself.
        return Object.fromEntries(list.map((chat) => [chat.id, chat.id === open && open in known ? known[open] : (chat.unreadCount ?? 0)]));
      });
      setListError('');
    } catch (error) {
      if (!expired(error)) setListError(errorText(error));
    }
  }, [expired]);

  const forget = (chatId: string, why: string) => {
    setChats((all) => all.filter((chat) => chat.id !== chatId));
    setUnread(({ [chatId]: _gone, ...rest }) => rest);
    onGone(chatId, why);
  };
  const titleOf = (chatId: string, fallback?: ChatInfo) => {
    const known = chatsRef.current.find((chat) => chat.id === chatId) ?? fallback;
    return known ? chatTitle(known, me) : 'The chat';
  };

  const onMessage = (message: MessageInfo) => {
    if (!chatsRef.current.some((chat) => chat.id === message.chatId)) return void loadChats();
    setChats((all) => {
      const found = all.find((chat) => chat.id === message.chatId);
      return found ? [{ ...found, lastMessage: message }, ...all.filter((chat) => chat.id !== message.chatId)] : all;
    });
    if (message.author.id === me) return;
    if (message.chatId !== openChatId()) setUnread((all) => ({ ...all, [message.chatId]: (all[message.chatId] ?? 0) + 1 }));
    // Tab open but not looked at: a sound and a notification (no push goes to a connected device).
    const chat = chatsRef.current.find((known) => known.id === message.chatId);
    if (document.visibilityState === 'hidden' && !chat?.isMuted) {
      chime();
      void notifyHere(chat ? chatTitle(chat, me) : 'Parley', message.text || 'Sent an attachment', message.chatId).catch(() => {});
    }
  };

  const onEvent = (event: LiveEvent) => {
    if (event.event === 'resync') return void loadChats();
    const payload = event.payload as (Partial<MessageInfo> & Partial<ChatInfo>) | null | undefined;
    if (event.event === 'message' && payload?.chatId) onMessage(payload as MessageInfo);
    else if ((event.event === 'messageUpdate' || event.event === 'messageRead') && payload?.chatId) {
      const message = payload as MessageInfo;
      setChats((all) => all.map((chat) => (chat.lastMessage?.id === message.id ? { ...chat, lastMessage: message } : chat)));
      // Read on another of my devices: the server recounts.
      if (event.event === 'messageRead' && event.source === String(me) && message.chatId !== openChatId()) void loadChats();
    } else if (event.event === 'chatCleared' && payload?.chatId) {
      const cleared = payload.chatId;
      setChats((all) => all.map((chat) => (chat.id === cleared ? { ...chat, lastMessage: undefined } : chat)));
      setUnread((all) => ({ ...all, [cleared]: 0 }));
    } else if (event.event === 'removedUsers' && payload?.id && payload.removedUsers?.some((gone) => gone.id === me)) {
      forget(payload.id, `You were removed from “${titleOf(payload.id, payload as ChatInfo)}”.`);
    } else if (event.event === 'chatDeleted' && payload?.id) {
      forget(payload.id, `“${titleOf(payload.id)}” was deleted.`);
    } else if (['chatUpdate', 'addedUsers', 'removedUsers'].includes(event.event)) {
      void loadChats();
    }
  };

  const onChatUnread = useCallback((chatId: string, count: number) => setUnread((all) => (all[chatId] === count ? all : { ...all, [chatId]: count })), []);
  const totalUnread = Object.values(unread).reduce((sum, count) => sum + count, 0);

  return { chats, unread, totalUnread, listError, setListError, loadChats, onEvent, onChatUnread };
}
