// The signed-in shell: navigation, the chat list with unread counts, the live connection,
// and whichever screen is open (each with its URL). Phone-sized screens show the list or
// the screen, not both.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { AuthScreen } from './auth/auth-screen.tsx';
import { ChatList } from './chats/chat-list.tsx';
import { ChatView } from './chats/chat-view.tsx';
import { ContactsView, NewChatView } from './people/people.tsx';
import { ProfileView } from './profile/profile.tsx';
import { api, ApiFailure, call, chatTitle, errorText, getSession, setSession, type ChatInfo, type MessageInfo, type Notification, type Session, type UserInfo } from './ui/api.ts';
import { Feedback } from './ui/feedback.tsx';
import { NotificationPrompt } from './ui/notification-prompt.tsx';
import { chime, notifyHere } from './ui/notifications.ts';
import { connectRealtime, type RealtimeStatus } from './ui/realtime.ts';
import { pushView, viewFromUrl, type View } from './ui/route.ts';
import { useShortcuts } from './ui/shortcuts.ts';

/** What the open screen hears from the socket; `resync` after a reconnect. */
export type LiveEvent = Notification | { event: 'resync'; source: 'client'; payload?: undefined };
export type Subscribe = (listener: (event: LiveEvent) => void) => () => void;

export function App() {
  const [session, setCurrent] = useState<Session | undefined>(getSession());
  const [notice, setNotice] = useState<string>();
  if (!session)
    return (
      <AuthScreen
        key={notice}
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
        history.replaceState(null, '', '/');
        setNotice(why);
        setCurrent(undefined);
      }}
    />
  );
}

const STATUS_TEXT: Record<RealtimeStatus, string> = { online: 'Live', connecting: 'Connecting…', offline: 'Offline, reconnecting…' };

function Messenger({ session, onLoggedOut }: { session: Session; onLoggedOut: (why?: string) => void }) {
  const me = session.userId;
  const [user, setUser] = useState<UserInfo>();
  const [view, setView] = useState<View>(viewFromUrl);
  const [chats, setChats] = useState<ChatInfo[]>([]);
  const [unread, setUnread] = useState<Record<string, number>>({});
  const [listError, setListError] = useState('');
  const [notice, setNotice] = useState('');
  const [status, setStatus] = useState<RealtimeStatus>('connecting');
  const listeners = useRef(new Set<(event: LiveEvent) => void>());
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

  // One request: the list carries each chat's unread count (no request per chat).
  const loadChats = useCallback(async () => {
    try {
      const list = await call(api.GET('/chats', { params: { query: { full: '1' } } }));
      setChats(list);
      setUnread((known) => {
        const open = viewRef.current.kind === 'chat' ? viewRef.current.chatId : undefined;
        // The open chat counts what it shows itself.
        return Object.fromEntries(list.map((chat) => [chat.id, chat.id === open && open in known ? known[open] : (chat.unreadCount ?? 0)]));
      });
      setListError('');
    } catch (error) {
      if (!expired(error)) setListError(errorText(error));
    }
  }, [expired]);

  useEffect(() => {
    call(api.GET('/users/me'))
      .then((me) => setUser(me.info))
      .catch((error) => {
        if (!expired(error)) setListError(errorText(error));
      });
    void loadChats();
    focusScreen();
    pushView(viewRef.current, true);
    // Back and Forward move between screens.
    const onPop = () => setView(viewFromUrl());
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);

  const go = (next: View, focus = true) => {
    setNotice('');
    pushView(next);
    setView(next);
    // Focus the new screen's heading so keyboard and screen-reader users land there.
    if (focus) focusScreen();
  };

  /** Out of a chat I can no longer see: say why, and go back to the list. */
  const closeChat = (chatId: string, why: string) => {
    setChats((all) => all.filter((chat) => chat.id !== chatId));
    setUnread(({ [chatId]: _gone, ...rest }) => rest);
    if (viewRef.current.kind === 'chat' && viewRef.current.chatId === chatId) {
      go({ kind: 'home' });
      setNotice(why);
    }
  };

  const onEvent = useCallback(
    (event: LiveEvent) => {
      for (const listener of listeners.current) listener(event);
      if (event.event === 'resync') return void loadChats();
      const payload = event.payload as (Partial<MessageInfo> & Partial<ChatInfo>) | null | undefined;
      const open = viewRef.current.kind === 'chat' ? viewRef.current.chatId : undefined;
      if (event.event === 'message' && payload?.chatId) {
        const message = payload as MessageInfo;
        if (!chatsRef.current.some((chat) => chat.id === message.chatId)) return void loadChats();
        setChats((all) => {
          const found = all.find((chat) => chat.id === message.chatId);
          return found ? [{ ...found, lastMessage: message }, ...all.filter((chat) => chat.id !== message.chatId)] : all;
        });
        // The open chat counts its own unread messages (it knows what is on screen).
        if (message.author.id !== me && message.chatId !== open) setUnread((all) => ({ ...all, [message.chatId]: (all[message.chatId] ?? 0) + 1 }));
        // Tab open but not looked at: a sound and a notification (no push goes to a connected device).
        const chat = chatsRef.current.find((known) => known.id === message.chatId);
        if (message.author.id !== me && document.visibilityState === 'hidden' && !chat?.isMuted) {
          chime();
          void notifyHere(chat ? chatTitle(chat, me) : 'Parley', message.text || 'Sent an attachment', message.chatId).catch(() => {});
        }
      } else if ((event.event === 'messageUpdate' || event.event === 'messageRead') && payload?.chatId) {
        const message = payload as MessageInfo;
        setChats((all) => all.map((chat) => (chat.lastMessage?.id === message.id ? { ...chat, lastMessage: message } : chat)));
        // Read on another of my devices: the server recounts.
        if (event.event === 'messageRead' && event.source === String(me) && message.chatId !== open) void loadChats();
      } else if (event.event === 'removedUsers' && payload?.id && payload.removedUsers?.some((gone) => gone.id === me)) {
        const known = chatsRef.current.find((chat) => chat.id === payload.id);
        closeChat(payload.id, `You were removed from “${chatTitle((known ?? payload) as ChatInfo, me)}”.`);
      } else if (event.event === 'chatDeleted' && payload?.id) {
        const known = chatsRef.current.find((chat) => chat.id === payload.id);
        closeChat(payload.id, `“${known ? chatTitle(known, me) : 'The chat'}” was deleted.`);
      } else if (['chatUpdate', 'addedUsers', 'removedUsers', 'chatCleared'].includes(event.event)) {
        void loadChats();
      }
    },
    [loadChats, me],
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

  const openChat = (chatId: string) => go({ kind: 'chat', chatId }, false);

  const goRef = useRef(go);
  goRef.current = go;
  useShortcuts(viewRef, (next, focus) => goRef.current(next, focus));

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
  const onChatUnread = useCallback((chatId: string, count: number) => setUnread((all) => (all[chatId] === count ? all : { ...all, [chatId]: count })), []);

  return (
    <div class={`layout ${showMain ? 'show-main' : 'show-list'}`}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <aside class="sidebar" aria-label="Chats and navigation">
        <header class="sidebar-head">
          <h1 class="brand">Parley</h1>
          <span class={`status ${status}`} role="status">
            {STATUS_TEXT[status]}
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
        <NotificationPrompt />
        {notice && !showMain && (
          <p class="notice list-notice" role="status">
            {notice}
          </p>
        )}
        <h2 class="list-title" id="chats-title" ref={listHeading} tabIndex={-1}>
          Chats
        </h2>
        <ChatList chats={chats} me={me} unread={unread} openChatId={openChatId} onOpen={openChat} />
      </aside>
      <main class="main" id="main" tabIndex={-1}>
        {/* The sidebar's status is off screen on a phone inside a chat: say it here too. */}
        {status !== 'online' && (
          <p class={`connection ${status}`} role="status">
            {STATUS_TEXT[status]}
          </p>
        )}
        {showMain && view.kind !== 'chat' && (
          <button type="button" class="back" onClick={() => go({ kind: 'home' })}>
            ← Chats
          </button>
        )}
        {view.kind === 'home' && (
          <div class="placeholder">
            {notice && (
              <p class="notice" role="status">
                {notice}
              </p>
            )}
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
            status={status}
            subscribe={subscribe}
            onUnread={onChatUnread}
            onChanged={loadChats}
            onClosed={() => {
              go({ kind: 'home' });
              void loadChats();
            }}
            onExpired={expired}
            onBack={() => go({ kind: 'home' })}
          />
        )}
        {view.kind === 'new' && <NewChatView me={me} headingRef={mainHeading} onOpen={openChat} />}
        {view.kind === 'contacts' && <ContactsView me={me} headingRef={mainHeading} onOpen={openChat} />}
        {view.kind === 'profile' && <ProfileView me={me} headingRef={mainHeading} onUser={setUser} onLoggedOut={onLoggedOut} onLogout={logout} />}
      </main>
    </div>
  );
}
