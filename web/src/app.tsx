// The signed-in shell: navigation, the chat list with unread counts, the live connection,
// and whichever screen is open. Phone-sized screens show the list or the screen, not both.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import {
  api,
  ApiFailure,
  call,
  chatTitle,
  errorText,
  formatTime,
  getSession,
  isUnreadFor,
  setSession,
  type ChatInfo,
  type MessageInfo,
  type Notification,
  type Session,
  type UserInfo,
} from './api.ts';
import { AuthScreen } from './auth.tsx';
import { ChatView } from './chat.tsx';
import { ContactsView, NewChatView } from './people.tsx';
import { ProfileView } from './profile.tsx';
import { connectRealtime, type RealtimeStatus } from './realtime.ts';
import { Feedback } from './feedback.tsx';

export type View = { kind: 'home' } | { kind: 'chat'; chatId: string } | { kind: 'new' } | { kind: 'contacts' } | { kind: 'profile' };

/** What the open screen hears from the socket; `resync` after a reconnect. */
export type LiveEvent = Notification | { event: 'resync'; source: 'client'; payload?: undefined };
export type Subscribe = (listener: (event: LiveEvent) => void) => () => void;

export function App() {
  const [session, setCurrent] = useState<Session | undefined>(getSession());
  const [notice, setNotice] = useState<string>();
  if (!session)
    return (
      <AuthScreen
        notice={notice}
        onLoggedIn={(next) => {
          setSession(next);
          setNotice(undefined);
          setCurrent(next);
        }}
      />
    );
  return (
    <Messenger
      key={session.token}
      session={session}
      onLoggedOut={(why) => {
        setSession(undefined);
        setNotice(why);
        setCurrent(undefined);
      }}
    />
  );
}

const UNREAD_PAGE = 50;

function Messenger({ session, onLoggedOut }: { session: Session; onLoggedOut: (why?: string) => void }) {
  const me = session.userId;
  const [user, setUser] = useState<UserInfo>();
  const [view, setView] = useState<View>({ kind: 'home' });
  const [chats, setChats] = useState<ChatInfo[]>([]);
  const [unread, setUnread] = useState<Record<string, number>>({});
  const [listError, setListError] = useState('');
  const [status, setStatus] = useState<RealtimeStatus>('connecting');
  const listeners = useRef(new Set<(event: LiveEvent) => void>());
  const recounts = useRef(new Map<string, ReturnType<typeof setTimeout>>());
  const chatsRef = useRef(chats);
  chatsRef.current = chats;
  const viewRef = useRef(view);
  viewRef.current = view;
  const mainHeading = useRef<HTMLElement>(null);
  const listHeading = useRef<HTMLHeadingElement>(null);
  /** Focus the open screen's heading, or the chat list's when only the list shows (phones). */
  const focusScreen = () =>
    setTimeout(() => {
      const heading = mainHeading.current;
      if (heading && heading.offsetParent !== null) heading.focus();
      else listHeading.current?.focus();
    }, 0);

  // Set while logging out: the server closing our socket then is expected, not an expiry.
  const leaving = useRef(false);
  const expired = useCallback(
    (error: unknown) => {
      if (error instanceof ApiFailure && error.status === 401) {
        if (!leaving.current) onLoggedOut('Your session has ended. Log in again.');
        return true;
      }
      return false;
    },
    [onLoggedOut],
  );

  const countUnread = useCallback(
    async (chatId: string) => {
      try {
        const page = await call(api.GET('/chats/{chatId}/messages', { params: { path: { chatId }, query: { count: UNREAD_PAGE } } }));
        const count = page.filter((message) => isUnreadFor(message, me)).length;
        setUnread((all) => ({ ...all, [chatId]: count }));
      } catch (error) {
        if (!expired(error)) setListError(`Could not count unread messages: ${errorText(error)}`);
      }
    },
    [me, expired],
  );

  const loadChats = useCallback(async () => {
    try {
      const list = await call(api.GET('/chats', { params: { query: { full: '1' } } }));
      setChats(list);
      setListError('');
      await Promise.all(list.map((chat) => countUnread(chat.id)));
    } catch (error) {
      if (!expired(error)) setListError(errorText(error));
    }
  }, [countUnread, expired]);

  useEffect(() => {
    call(api.GET('/users/me'))
      .then((me) => setUser(me.info))
      .catch((error) => {
        if (!expired(error)) setListError(errorText(error));
      });
    void loadChats();
    focusScreen();
  }, []);

  const onEvent = useCallback(
    (event: LiveEvent) => {
      for (const listener of listeners.current) listener(event);
      if (event.event === 'resync') return void loadChats();
      const payload = event.payload as Partial<MessageInfo> | null | undefined;
      const open = viewRef.current.kind === 'chat' ? viewRef.current.chatId : undefined;
      if (event.event === 'message' && payload?.chatId) {
        const message = payload as MessageInfo;
        if (!chatsRef.current.some((chat) => chat.id === message.chatId)) void loadChats();
        setChats((all) => {
          const found = all.find((chat) => chat.id === message.chatId);
          return found ? [{ ...found, lastMessage: message }, ...all.filter((chat) => chat.id !== message.chatId)] : all;
        });
        if (message.author.id !== me && message.chatId !== open) setUnread((all) => ({ ...all, [message.chatId]: (all[message.chatId] ?? 0) + 1 }));
      } else if ((event.event === 'messageUpdate' || event.event === 'messageRead') && payload?.chatId) {
        const message = payload as MessageInfo;
        setChats((all) => all.map((chat) => (chat.lastMessage?.id === message.id ? { ...chat, lastMessage: message } : chat)));
        // Read on another of my devices: recount, once per burst of read marks.
        if (event.event === 'messageRead' && event.source === String(me) && message.chatId !== open) {
          clearTimeout(recounts.current.get(message.chatId));
          recounts.current.set(message.chatId, setTimeout(() => void countUnread(message.chatId), 500));
        }
      } else if (['chatUpdate', 'addedUsers', 'removedUsers', 'chatCleared', 'chatDeleted'].includes(event.event)) {
        void loadChats();
      }
    },
    [loadChats, countUnread, me],
  );

  const onEventRef = useRef(onEvent);
  onEventRef.current = onEvent;
  useEffect(
    () =>
      connectRealtime(
        session,
        (event) => onEventRef.current(event),
        (next, reconnected) => {
          setStatus(next);
          // A socket refused for good usually means the session was revoked: find out.
          if (next === 'offline') call(api.GET('/users/me')).catch(expired);
          if (reconnected) onEventRef.current({ event: 'resync', source: 'client' });
        },
      ),
    [],
  );

  const subscribe: Subscribe = useCallback((listener) => {
    listeners.current.add(listener);
    return () => listeners.current.delete(listener);
  }, []);

  const go = (next: View) => {
    setView(next);
    // Focus the new screen's heading so keyboard and screen-reader users land there.
    focusScreen();
  };

  const openChat = (chatId: string) => {
    setView({ kind: 'chat', chatId });
  };

  const logout = async () => {
    leaving.current = true;
    try {
      await call(api.POST('/users/me/logout'));
    } catch (error) {
      if (!(error instanceof ApiFailure && error.status === 401)) {
        leaving.current = false;
        setListError(`Could not log out: ${errorText(error)}`);
        return;
      }
    }
    onLoggedOut('You have logged out.');
  };

  const totalUnread = Object.values(unread).reduce((sum, count) => sum + count, 0);
  useEffect(() => {
    document.title = totalUnread ? `(${totalUnread}) Parley` : 'Parley';
  }, [totalUnread]);

  const showMain = view.kind !== 'home';
  const openChatId = view.kind === 'chat' ? view.chatId : undefined;

  return (
    <div class={`layout ${showMain ? 'show-main' : 'show-list'}`}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <aside class="sidebar" aria-label="Chats and navigation">
        <header class="sidebar-head">
          <h1 class="brand">Parley</h1>
          <span class={`status ${status}`} role="status">
            {status === 'online' ? 'Live' : status === 'connecting' ? 'Connecting…' : 'Offline, reconnecting…'}
          </span>
        </header>
        <nav aria-label="Main">
          <button type="button" aria-current={view.kind === 'new' ? 'page' : undefined} onClick={() => go({ kind: 'new' })}>
            New chat
          </button>
          <button type="button" aria-current={view.kind === 'contacts' ? 'page' : undefined} onClick={() => go({ kind: 'contacts' })}>
            Contacts
          </button>
          <button type="button" aria-current={view.kind === 'profile' ? 'page' : undefined} onClick={() => go({ kind: 'profile' })}>
            Profile{user ? ` (${user.name})` : ''}
          </button>
          <button type="button" onClick={logout}>
            Log out
          </button>
        </nav>
        <Feedback error={listError} />
        <h2 class="list-title" id="chats-title" ref={listHeading} tabIndex={-1}>
          Chats
        </h2>
        {chats.length === 0 ? (
          <p class="empty">No chats yet. Start one with “New chat”.</p>
        ) : (
          <ul class="chat-list" aria-labelledby="chats-title">
            {chats.map((chat) => {
              const count = unread[chat.id] ?? 0;
              const last = chat.lastMessage;
              const title = chatTitle(chat, me);
              return (
                <li key={chat.id}>
                  <button
                    type="button"
                    class="chat-item"
                    data-chat-id={chat.id}
                    aria-current={chat.id === openChatId ? 'true' : undefined}
                    aria-label={`${title}${count ? `, ${count} unread` : ''}`}
                    onClick={() => openChat(chat.id)}
                  >
                    <span class="chat-item-top">
                      <span class="chat-name">{title}</span>
                      <time>{formatTime(last?.createdAt)}</time>
                    </span>
                    <span class="chat-item-bottom">
                      <span class="last-message">
                        {last ? (last.deletedAt ? 'Message deleted' : last.text || (last.attachments?.length ? 'Attachment' : '')) : ''}
                      </span>
                      {count > 0 && (
                        <span class="badge" aria-hidden="true">
                          {count >= UNREAD_PAGE ? `${UNREAD_PAGE}+` : count}
                        </span>
                      )}
                    </span>
                  </button>
                </li>
              );
            })}
          </ul>
        )}
      </aside>
      <main class="main" id="main" tabIndex={-1}>
        {showMain && view.kind !== 'chat' && (
          <button type="button" class="back" onClick={() => go({ kind: 'home' })}>
            ← Chats
          </button>
        )}
        {view.kind === 'home' && (
          <div class="placeholder">
            <h2 ref={mainHeading as never} tabIndex={-1}>
              Welcome{user ? `, ${user.name}` : ''}
            </h2>
            <p>Pick a chat on the left, or start a new one.</p>
          </div>
        )}
        {view.kind === 'chat' && (
          <ChatView
            key={view.chatId}
            chatId={view.chatId}
            me={me}
            listed={chats.find((chat) => chat.id === view.chatId)}
            subscribe={subscribe}
            onRead={() => setUnread((all) => ({ ...all, [view.chatId]: 0 }))}
            onChanged={loadChats}
            onClosed={() => {
              setView({ kind: 'home' });
              void loadChats();
            }}
            onExpired={expired}
            onBack={() => go({ kind: 'home' })}
          />
        )}
        {view.kind === 'new' && <NewChatView me={me} headingRef={mainHeading} onOpen={openChat} />}
        {view.kind === 'contacts' && <ContactsView me={me} headingRef={mainHeading} onOpen={openChat} />}
        {view.kind === 'profile' && (
          <ProfileView
            me={me}
            headingRef={mainHeading}
            onUser={setUser}
            onLoggedOut={onLoggedOut}
            onLogout={logout}
          />
        )}
      </main>
    </div>
  );
}
