// The signed-in shell: navigation, the chat list (chats/use-chat-list.ts), the live connection
// (ui/realtime.ts), and whichever screen is open (each with its URL). Phone-sized screens show
// the list or the screen, not both.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { AuthScreen } from './auth/auth-screen.tsx';
import { ChatList } from './chats/chat-list.tsx';
import { ChatView } from './chats/chat-view.tsx';
import { ContactsView, NewChatView } from './people/people.tsx';
import { ProfileView } from './profile/profile.tsx';
import { api, ApiFailure, call, errorText, getSession, setSession, type Session, type UserInfo } from './ui/api.ts';
import { Feedback } from './ui/feedback.tsx';
import { NotificationPrompt } from './ui/notification-prompt.tsx';
import { useLiveConnection, type RealtimeStatus } from './ui/realtime.ts';
import { useChatList } from './chats/use-chat-list.ts';
import { pushView, viewFromUrl, type View } from './ui/route.ts';
import { useShortcuts } from './ui/shortcuts.ts';

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
  const [notice, setNotice] = useState('');
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

  const openChatId = view.kind === 'chat' ? view.chatId : undefined;
  const list = useChatList({
    me,
    openChatId: () => (viewRef.current.kind === 'chat' ? viewRef.current.chatId : undefined),
    expired,
    // Out of a chat I can no longer see: say why, and go back to the list.
    onGone: (chatId, why) => {
      if (viewRef.current.kind !== 'chat' || viewRef.current.chatId !== chatId) return;
      goRef.current({ kind: 'home' });
      setNotice(why);
    },
  });
  const { loadChats, setListError } = list;

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

  const { status, subscribe } = useLiveConnection(session, list.onEvent, () => call(api.GET('/users/me')).catch(expired));

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

  const { totalUnread } = list;
  useEffect(() => {
    document.title = totalUnread ? `(${totalUnread}) Parley` : 'Parley';
  }, [totalUnread]);

  const showMain = view.kind !== 'home';

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
        <Feedback error={list.listError} />
        <NotificationPrompt />
        {notice && !showMain && (
          <p class="notice list-notice" role="status">
            {notice}
          </p>
        )}
        <h2 class="list-title" id="chats-title" ref={listHeading} tabIndex={-1}>
          Chats
        </h2>
        <ChatList chats={list.chats} me={me} unread={list.unread} openChatId={openChatId} onOpen={openChat} />
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
            listed={list.chats.find((chat) => chat.id === view.chatId)}
            status={status}
            subscribe={subscribe}
            onUnread={list.onChatUnread}
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
