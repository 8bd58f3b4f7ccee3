// One chat: its history (older pages on scroll-back), the composer with attachments,
// edit and delete of my messages, read marks, and the members of a group.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import {
  api,
  call,
  chatTitle,
  displayName,
  errorText,
  fileUrl,
  formatSize,
  formatTime,
  IMAGE_TYPES,
  isUnreadFor,
  previewUrl,
  uploadFile,
  uuid,
  type ChatInfo,
  type MediaInfo,
  type MessageInfo,
} from './api.ts';
import type { LiveEvent, Subscribe } from './app.tsx';
import { UserSearch } from './people.tsx';

const PAGE = 30;

interface Props {
  chatId: string;
  me: number;
  listed?: ChatInfo;
  subscribe: Subscribe;
  onRead: () => void;
  onChanged: () => void;
  onClosed: () => void;
  onExpired: (error: unknown) => boolean;
  /** Back to the chat list (shown on phone-sized screens only). */
  onBack: () => void;
}

/** Oldest first, one entry per id. */
function merge(current: MessageInfo[], incoming: MessageInfo[]): MessageInfo[] {
  const byId = new Map(current.map((message) => [message.id, message]));
  for (const message of incoming) byId.set(message.id, message);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

export function ChatView({ chatId, me, listed, subscribe, onRead, onChanged, onClosed, onExpired, onBack }: Props) {
  const [chat, setChat] = useState<ChatInfo | undefined>(listed);
  const [messages, setMessages] = useState<MessageInfo[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [hasMore, setHasMore] = useState(false);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [error, setError] = useState('');
  const [info, setInfo] = useState('');
  const [draft, setDraft] = useState('');
  const [uploading, setUploading] = useState('');
  const [editing, setEditing] = useState<number>();
  const [editText, setEditText] = useState('');
  const [confirmDelete, setConfirmDelete] = useState<number>();
  const [showMembers, setShowMembers] = useState(false);
  const list = useRef<HTMLDivElement>(null);
  const composer = useRef<HTMLTextAreaElement>(null);
  const editor = useRef<HTMLTextAreaElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  // Scroll bookkeeping: keep the view still when older messages are put above it.
  const anchor = useRef<{ kind: 'bottom' } | { kind: 'keep'; height: number; top: number } | undefined>({ kind: 'bottom' });
  const marking = useRef(new Set<number>());

  const fail = (failure: unknown) => {
    if (!onExpired(failure)) setError(errorText(failure));
  };

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
      setMessages((current) => (current.length ? merge(current, page) : merge([], page)));
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
    composer.current?.focus();
  }, []);

  const loadOlder = async () => {
    if (loadingOlder || !hasMore || messages.length === 0) return;
    setLoadingOlder(true);
    try {
      const page = await call(
        api.GET('/chats/{chatId}/messages', { params: { path: { chatId }, query: { count: PAGE, before: messages[0].id } } }),
      );
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
  }, [messages]);

  const onScroll = () => {
    const box = list.current;
    if (box && box.scrollTop < 40) void loadOlder();
  };

  const nearBottom = () => {
    const box = list.current;
    return !box || box.scrollHeight - box.scrollTop - box.clientHeight < 120;
  };

  // Live updates for this chat.
  useEffect(
    () =>
      subscribe((event: LiveEvent) => {
        if (event.event === 'resync') {
          void loadLatest();
          void loadChat();
          return;
        }
        const payload = event.payload as Partial<MessageInfo> | null | undefined;
        if (payload && 'chatId' in payload && payload.chatId !== chatId) return;
        switch (event.event) {
          case 'message':
            if (nearBottom() || payload?.author?.id === me) anchor.current = { kind: 'bottom' };
            setMessages((current) => merge(current, [payload as MessageInfo]));
            break;
          case 'messageUpdate':
          case 'messageRead':
            setMessages((current) => (current.some((m) => m.id === payload?.id) ? merge(current, [payload as MessageInfo]) : current));
            break;
          case 'chatCleared':
            setMessages([]);
            setInfo('The chat history was cleared.');
            break;
          case 'chatDeleted':
            if ((event.payload as { id?: string } | null)?.id === chatId || !event.payload) onClosed();
            break;
          case 'chatUpdate':
          case 'addedUsers':
          case 'removedUsers':
            if ((event.payload as { id?: string } | null)?.id === chatId) void loadChat();
            break;
        }
      }),
    [chatId, me],
  );

  // Mark what others wrote as read while the chat is on screen.
  useEffect(() => {
    const markVisible = async () => {
      if (document.visibilityState === 'hidden') return;
      const unread = messages.filter((message) => isUnreadFor(message, me) && !marking.current.has(message.id));
      if (unread.length === 0) return;
      for (const message of unread) marking.current.add(message.id);
      try {
        const marked = await Promise.all(
          unread.map((message) =>
            call(api.PUT('/chats/{chatId}/messages/{messageId}/read', { params: { path: { chatId, messageId: message.id } } })),
          ),
        );
        setMessages((current) => merge(current, marked));
        onRead();
      } catch (failure) {
        fail(failure);
      }
    };
    void markVisible();
    document.addEventListener('visibilitychange', markVisible);
    return () => document.removeEventListener('visibilitychange', markVisible);
  }, [messages]);

  const post = async (text: string, attachments?: MediaInfo[]) => {
    const message = await call(
      api.POST('/chats/{chatId}/messages', {
        params: { path: { chatId } },
        body: {
          localId: `${me}+${uuid()}`,
          ...(text ? { text } : {}),
          ...(attachments ? { attachments: attachments as never } : {}),
        },
      }),
    );
    anchor.current = { kind: 'bottom' };
    setMessages((current) => merge(current, [message]));
    if (!listed) onChanged();
  };

  const send = async (event?: Event) => {
    event?.preventDefault();
    const text = draft.trim();
    if (!text) return;
    setDraft('');
    setError('');
    try {
      await post(text);
    } catch (failure) {
      setDraft(text);
      fail(failure);
    }
    composer.current?.focus();
  };

  const attach = async (event: Event) => {
    const input = event.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    setError('');
    setUploading(file.name);
    try {
      const { media } = await uploadFile(file);
      const text = draft.trim();
      await post(text, [media]);
      setDraft('');
    } catch (failure) {
      fail(failure);
    } finally {
      setUploading('');
      composer.current?.focus();
    }
  };

  const startEdit = (message: MessageInfo) => {
    setEditing(message.id);
    setEditText(message.text);
    setConfirmDelete(undefined);
    setTimeout(() => editor.current?.focus(), 0);
  };

  const saveEdit = async (event: Event) => {
    event.preventDefault();
    if (editing === undefined) return;
    setError('');
    try {
      const updated = await call(
        api.PUT('/chats/{chatId}/messages/{messageId}', { params: { path: { chatId, messageId: editing } }, body: { text: editText.trim() } }),
      );
      setMessages((current) => merge(current, [updated]));
      setEditing(undefined);
      composer.current?.focus();
    } catch (failure) {
      fail(failure);
    }
  };

  const remove = async (message: MessageInfo) => {
    setError('');
    try {
      const deleted = await call(api.DELETE('/chats/{chatId}/messages/{messageId}', { params: { path: { chatId, messageId: message.id } } }));
      setMessages((current) => merge(current, [deleted]));
      setConfirmDelete(undefined);
      composer.current?.focus();
    } catch (failure) {
      fail(failure);
    }
  };

  const onComposerKey = (event: KeyboardEvent) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      void send();
    }
  };

  const title = chat ? chatTitle(chat, me) : 'Chat';
  const others = (chat?.allUsers ?? []).filter((user) => user.id !== me);
  const nameOf = (id: number) => displayName(chat?.allUsers?.find((user) => user.id === id));

  return (
    <section class="chat" aria-labelledby="chat-title">
      <header class="chat-head">
        <button type="button" class="back" onClick={onBack}>
          ← Chats
        </button>
        <h2 id="chat-title" ref={heading} tabIndex={-1}>
          {title}
        </h2>
        {chat && !chat.isPersonal && (
          <button type="button" aria-expanded={showMembers} aria-controls="members" onClick={() => setShowMembers(!showMembers)}>
            Members ({chat.allUsers?.length ?? 0})
          </button>
        )}
      </header>
      {showMembers && chat && (
        <Members chat={chat} me={me} onChat={(next) => { setChat(next); onChanged(); }} onLeft={onClosed} onError={fail} />
      )}
      {error && (
        <p class="error" role="alert">
          {error}{' '}
          <button type="button" class="link" onClick={() => setError('')}>
            Dismiss
          </button>
        </p>
      )}
      {info && (
        <p class="notice" role="status">
          {info}
        </p>
      )}
      <div class="messages" ref={list} onScroll={onScroll} aria-live="polite" aria-relevant="additions text" role="log" aria-label={`Messages in ${title}`}>
        {hasMore && (
          <button type="button" class="older" onClick={loadOlder} disabled={loadingOlder}>
            {loadingOlder ? 'Loading older messages…' : 'Load older messages'}
          </button>
        )}
        {loaded && messages.length === 0 && <p class="empty">No messages yet. Say hello!</p>}
        <ol>
          {messages.map((message) => {
            const mine = message.author.id === me;
            const readBy = (message.readMarks ?? []).filter((mark) => mark.user.id !== me);
            return (
              <li key={message.id} class={`message ${mine ? 'mine' : 'theirs'}`} data-message-id={message.id}>
                <div class="meta">
                  <span class="author">{mine ? 'You' : displayName(message.author.name ? message.author : chat?.allUsers?.find((u) => u.id === message.author.id))}</span>
                  <time dateTime={message.createdAt}>{formatTime(message.createdAt)}</time>
                  {message.editedAt && !message.deletedAt && <span class="edited">edited</span>}
                </div>
                {message.deletedAt ? (
                  <p class="text deleted">Message deleted</p>
                ) : editing === message.id ? (
                  <form class="edit" onSubmit={saveEdit}>
                    <label>
                      Edit message
                      <textarea
                        ref={editor}
                        value={editText}
                        rows={2}
                        onInput={(e) => setEditText(e.currentTarget.value)}
                        onKeyDown={(e) => {
                          if (e.key === 'Escape') setEditing(undefined);
                          if (e.key === 'Enter' && !e.shiftKey) saveEdit(e);
                        }}
                      />
                    </label>
                    <div class="actions">
                      <button type="submit" class="primary">
                        Save
                      </button>
                      <button type="button" onClick={() => setEditing(undefined)}>
                        Cancel
                      </button>
                    </div>
                  </form>
                ) : (
                  message.text && <p class="text">{message.text}</p>
                )}
                {!message.deletedAt && message.attachments?.map((media) => <Attachment key={media.id} media={media} />)}
                {mine && !message.deletedAt && (
                  <div class="status-line">
                    <span class={readBy.length ? 'read' : 'sent'}>
                      {readBy.length
                        ? chat?.isPersonal
                          ? '✓✓ Read'
                          : `✓✓ Read by ${readBy.map((mark) => nameOf(mark.user.id)).join(', ')}`
                        : '✓ Sent'}
                    </span>
                    {editing !== message.id && (
                      <span class="actions">
                        {message.text && (
                          <button type="button" class="link" onClick={() => startEdit(message)} aria-label={`Edit message: ${message.text.slice(0, 40)}`}>
                            Edit
                          </button>
                        )}
                        {confirmDelete === message.id ? (
                          <>
                            <button type="button" class="link danger" onClick={() => remove(message)}>
                              Yes, delete
                            </button>
                            <button type="button" class="link" onClick={() => setConfirmDelete(undefined)}>
                              Keep
                            </button>
                          </>
                        ) : (
                          <button type="button" class="link" onClick={() => setConfirmDelete(message.id)} aria-label={`Delete message: ${message.text.slice(0, 40)}`}>
                            Delete
                          </button>
                        )}
                      </span>
                    )}
                  </div>
                )}
              </li>
            );
          })}
        </ol>
      </div>
      <form class="composer" onSubmit={send}>
        <label class="visually-hidden" for="composer">
          Message
        </label>
        <textarea
          id="composer"
          ref={composer}
          rows={1}
          placeholder={others.length ? `Message ${title}` : 'Write a message'}
          value={draft}
          onInput={(e) => setDraft(e.currentTarget.value)}
          onKeyDown={onComposerKey}
        />
        <label class="button attach">
          {uploading ? `Uploading ${uploading}…` : 'Attach a file'}
          <input type="file" class="visually-hidden" onChange={attach} disabled={!!uploading} />
        </label>
        <button type="submit" class="primary" disabled={!draft.trim()}>
          Send
        </button>
      </form>
    </section>
  );
}

/** An image shows its preview (made a moment after upload, so retried); other files a link. */
function Attachment({ media }: { media: MediaInfo }) {
  const [attempt, setAttempt] = useState(0);
  const [ready, setReady] = useState(false);
  const isImage = IMAGE_TYPES.has(media.fileType.toLowerCase());
  if (!isImage)
    return (
      <a class="file" href={fileUrl(media)} download>
        Download file ({media.fileType.toUpperCase()}, {formatSize(media.fileSize)})
      </a>
    );
  const gaveUp = attempt > 20;
  return (
    <a class="image" href={fileUrl(media)} target="_blank" rel="noopener">
      {!ready && <span class="preparing">{gaveUp ? 'Open image' : 'Preparing preview…'}</span>}
      {!gaveUp && (
        <img
          key={attempt}
          src={`${previewUrl(media)}${attempt ? `?try=${attempt}` : ''}`}
          alt={`Image preview (${media.fileType.toUpperCase()}, ${formatSize(media.fileSize)})`}
          width={media.previewWidth}
          height={media.previewHeight}
          class={ready ? '' : 'loading'}
          onLoad={() => setReady(true)}
          onError={() => setTimeout(() => setAttempt((n) => n + 1), 700)}
        />
      )}
    </a>
  );
}

function Members({
  chat,
  me,
  onChat,
  onLeft,
  onError,
}: {
  chat: ChatInfo;
  me: number;
  onChat: (chat: ChatInfo) => void;
  onLeft: () => void;
  onError: (error: unknown) => void;
}) {
  const [done, setDone] = useState('');
  const heading = useRef<HTMLHeadingElement>(null);
  const members = chat.allUsers ?? [];
  const refresh = async () => onChat(await call(api.GET('/chats/{chatId}', { params: { path: { chatId: chat.id } } })));
  const change = async (action: 'add' | 'remove', userId: number, name: string) => {
    setDone('');
    try {
      const request = { params: { path: { chatId: chat.id } }, body: { users: [userId] } };
      await call(action === 'add' ? api.POST('/chats/{chatId}/users', request) : api.DELETE('/chats/{chatId}/users', request));
      await refresh();
      setDone(action === 'add' ? `${name} was added.` : `${name} was removed.`);
      // The button pressed may be gone: keep keyboard focus in the panel.
      heading.current?.focus();
    } catch (failure) {
      onError(failure);
    }
  };
  const leave = async () => {
    try {
      await call(api.DELETE('/chats/{chatId}/me', { params: { path: { chatId: chat.id } } }));
      onLeft();
    } catch (failure) {
      onError(failure);
    }
  };
  return (
    <section id="members" class="members card" aria-label="Members">
      <h3 ref={heading} tabIndex={-1}>
        Members
      </h3>
      {done && (
        <p class="notice" role="status">
          {done}
        </p>
      )}
      <ul>
        {members.map((user) => (
          <li key={user.id}>
            <span>
              {displayName(user)} <small>@{user.username}</small>
              {chat.owner?.id === user.id && <small> · owner</small>}
            </span>
            {user.id !== me && (
              <button type="button" class="link danger" onClick={() => change('remove', user.id, displayName(user))}>
                Remove {displayName(user)}
              </button>
            )}
          </li>
        ))}
      </ul>
      <UserSearch
        me={me}
        label="Add a member"
        exclude={members.map((user) => user.id)}
        actions={(user) => (
          <button type="button" onClick={() => change('add', user.id, displayName(user))}>
            Add {displayName(user)}
          </button>
        )}
      />
      <button type="button" class="danger" onClick={leave}>
        Leave this group
      </button>
    </section>
  );
}
