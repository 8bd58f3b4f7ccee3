// One chat: its history (older pages on scroll-back), the composer with its outbox and
// attachments, read marks for what is on screen, and the members of a group.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { LiveEvent, Subscribe } from '../app.tsx';
import { api, call, chatTitle, displayName, errorText, uuid, type ChatInfo, type MediaInfo, type MessageInfo } from '../ui/api.ts';
import type { RealtimeStatus } from '../ui/realtime.ts';
import { merge, readersOf } from './history.ts';
import { ChatHead } from './chat-head.tsx';
import { MessageItem } from './message-item.tsx';
import { Composer, PendingItem } from './composer.tsx';
import { CancelledUpload, fileOf, startUpload } from './upload.ts';
import { enqueue, flush, onOutboxChange, pendingOf } from './outbox.ts';
import { useTyping, useTypingSender } from './typing.ts';
import { useReadMarks } from './read-marks.ts';
import { JumpToLatest, revealMessage, Timeline, useFirstUnread } from './timeline.tsx';
import { ReplyBar } from './reply.tsx';
import { messageActions } from './message-actions.ts';

const PAGE = 30;

interface Props {
  chatId: string;
  me: number;
  listed?: ChatInfo;
  status: RealtimeStatus;
  subscribe: Subscribe;
  /** How many messages of others here are after what I read. */
  onUnread: (chatId: string, count: number) => void;
  onChanged: () => void;
  onClosed: () => void;
  onExpired: (error: unknown) => boolean;
  /** Back to the chat list (shown on phone-sized screens only). */
  onBack: () => void;
}

/** The composer takes focus only where that does not pop up an on-screen keyboard. */
const focusComposerOnOpen = () => matchMedia('(min-width: 721px) and (pointer: fine)').matches;

export function ChatView({ chatId, me, listed, status, subscribe, onUnread, onChanged, onClosed, onExpired, onBack }: Props) {
  const [chat, setChat] = useState<ChatInfo | undefined>(listed);
  const [messages, setMessages] = useState<MessageInfo[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [hasMore, setHasMore] = useState(false);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [error, setError] = useState('');
  const [info, setInfo] = useState('');
  const [draft, setDraft] = useState('');
  const [upload, setUpload] = useState<{ name: string; fraction: number; cancel: () => void }>();
  const [editing, setEditing] = useState<number>();
  const [pending, setPending] = useState(() => pendingOf(chatId));
  const [replyTo, setReplyTo] = useState<MessageInfo>();
  const [scrolledUp, setScrolledUp] = useState(false);
  const list = useRef<HTMLDivElement>(null);
  const composer = useRef<HTMLTextAreaElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  // Scroll bookkeeping: keep the view still when older messages are put above it.
  const anchor = useRef<{ kind: 'bottom' } | { kind: 'keep'; height: number; top: number } | undefined>({ kind: 'bottom' });

  const fail = (failure: unknown) => {
    if (!onExpired(failure)) setError(errorText(failure));
  };
  const received = (message: MessageInfo) => {
    anchor.current = { kind: 'bottom' };
    setMessages((current) => merge(current, [message]));
  };
  const sendWaiting = () => flush((message) => (message.chatId === chatId ? received(message) : undefined), fail);

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
    if (focusComposerOnOpen()) composer.current?.focus();
    else heading.current?.focus();
    const stop = onOutboxChange(() => setPending(pendingOf(chatId)));
    // Back online: what waits in the outbox goes now.
    addEventListener('online', sendWaiting);
    if (pendingOf(chatId).length) void sendWaiting();
    return () => {
      stop();
      removeEventListener('online', sendWaiting);
    };
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
  }, [messages, pending]);

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
          void sendWaiting();
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
          case 'chatUpdate':
          case 'addedUsers':
          case 'removedUsers':
            if ((event.payload as { id?: string } | null)?.id === chatId) void loadChat();
            break;
        }
      }),
    [chatId, me],
  );

  const { readUpTo } = useReadMarks(chatId, me, messages, list, (marked) => setMessages((current) => merge(current, [marked])), fail);

  const unreadCount = messages.filter((message) => message.author.id !== me && !message.deletedAt && message.id > readUpTo).length;
  useEffect(() => onUnread(chatId, unreadCount), [unreadCount]);
  const firstUnread = useFirstUnread(loaded, messages, me, readUpTo, list);

  const readers = useMemo(() => readersOf(messages, me), [messages, me]);

  const post = async (text: string, attachments?: MediaInfo[]) => {
    const message = await call(
      api.POST('/chats/{chatId}/messages', {
        params: { path: { chatId } },
        body: { localId: `${me}+${uuid()}`, ...(text ? { text } : {}), ...(attachments ? { attachments: attachments as never } : {}), ...(replyTo ? { replyTo: replyTo.id } : {}) },
      }),
    );
    received(message);
    setReplyTo(undefined);
    if (!listed) onChanged();
  };

  const send = (event?: Event) => {
    event?.preventDefault();
    const text = draft.trim();
    if (!text) return;
    setDraft('');
    setError('');
    // Through the outbox: a send that fails waits there for the connection, in order.
    enqueue(me, chatId, text, replyTo?.id);
    setReplyTo(undefined);
    void sendWaiting().then(() => (!listed ? onChanged() : undefined));
    composer.current?.focus();
  };

  // From the file picker, a drop or a paste: upload with progress (Cancel aborts, nothing is sent).
  const uploadAndSend = async (file: File) => {
    if (upload) return;
    setError('');
    const started = startUpload(file, (fraction) => setUpload((current) => current && { ...current, fraction }));
    setUpload({ name: file.name, fraction: 0, cancel: started.cancel });
    try {
      const { media } = await started.done;
      await post(draft.trim(), [media]);
      setDraft('');
    } catch (failure) {
      if (!(failure instanceof CancelledUpload)) fail(failure);
    } finally {
      setUpload(undefined);
    }
  };

  const attach = (event: Event) => {
    const input = event.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    input.value = '';
    if (file) void uploadAndSend(file);
  };
  const [dragging, setDragging] = useState(false);
  const dropped = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    const file = fileOf(event.dataTransfer);
    if (file) void uploadAndSend(file);
  };
  const pasted = (event: ClipboardEvent) => {
    const file = fileOf(event.clipboardData);
    if (!file) return; // plain text: the textarea's own paste
    event.preventDefault();
    void uploadAndSend(file);
  };

  const actions = messageActions(chatId, (changed) => setMessages((current) => merge(current, [changed])), fail);
  const saveEdit = async (message: MessageInfo, text: string) => {
    setError('');
    if (await actions.saveEdit(message, text)) setEditing(undefined);
  };
  const remove = (message: MessageInfo) => {
    setError('');
    void actions.remove(message);
  };

  const typingIds = useTyping(chatId, me, subscribe);
  const typed = useTypingSender(chatId);
  const typingNames = typingIds.map((id) => displayName(chat?.allUsers?.find((user) => user.id === id)));

  const title = chat ? chatTitle(chat, me) : 'Chat';
  const others = (chat?.allUsers ?? []).filter((user) => user.id !== me);

  return (
    <section
      class={dragging ? 'chat dragging' : 'chat'}
      aria-labelledby="chat-title"
      onDragOver={(event) => {
        if (!event.dataTransfer?.types.includes('Files')) return;
        event.preventDefault();
        setDragging(true);
      }}
      onDragLeave={(event) => event.currentTarget === event.target && setDragging(false)}
      onDrop={dropped}
      onPaste={pasted}
    >
      <ChatHead
        chat={chat}
        me={me}
        title={title}
        heading={heading}
        error={error}
        info={info}
        onDismiss={() => setError('')}
        onBack={onBack}
        onChat={(next) => {
          setChat(next);
          onChanged();
        }}
        onLeft={onClosed}
        onError={fail}
      />
      <div class="messages-wrap">
      <div class="messages" ref={list} onScroll={onScroll} aria-live="polite" aria-relevant="additions text" role="log" aria-label={`Messages in ${title}`}>
        {hasMore && (
          <button type="button" class="older" onClick={loadOlder} disabled={loadingOlder}>
            {loadingOlder ? 'Loading older messages…' : 'Load older messages'}
          </button>
        )}
        {loaded && messages.length === 0 && pending.length === 0 && <p class="empty">No messages yet. Say hello!</p>}
        <ol>
          <Timeline
            messages={messages}
            firstUnread={firstUnread}
            render={(message) => (
            <MessageItem
              key={message.id}
              message={message}
              me={me}
              chat={chat}
              readers={readers.get(message.id) ?? []}
              editing={editing === message.id}
              onEdit={(target) => {
                setEditing(target?.id);
                if (!target) composer.current?.focus();
              }}
              onSave={saveEdit}
              onDelete={remove}
              quoted={message.replyTo ? messages.find((m) => m.id === message.replyTo) : undefined}
              onReply={(target) => {
                setReplyTo(target);
                composer.current?.focus();
              }}
              onQuote={(id) => void (revealMessage(list.current, id) || setInfo('The original message is further back: scroll up to load it.'))}
            />
            )}
          />
          {pending.map((entry) => (
            <PendingItem key={entry.localId} entry={entry} offline={status !== 'online'} onRetry={() => void sendWaiting()} />
          ))}
        </ol>
      </div>
      {scrolledUp && <JumpToLatest onJump={jumpToLatest} />}
      </div>
      <p class="typing" aria-live="polite">
        {typingNames.length ? `${typingNames.join(', ')} ${typingNames.length > 1 ? 'are' : 'is'} typing…` : ''}
      </p>
      {replyTo && <ReplyBar target={replyTo} me={me} chat={chat} onCancel={() => setReplyTo(undefined)} />}
      <Composer
        composer={composer}
        draft={draft}
        placeholder={others.length ? `Message ${title}` : 'Write a message'}
        upload={upload}
        onDraft={(text) => {
          setDraft(text);
          if (text.trim()) typed();
        }}
        onSend={send}
        onAttach={attach}
        onEditLast={() => setEditing([...messages].reverse().find((message) => message.author.id === me && !message.deletedAt && message.text)?.id)}
      />
    </section>
  );
}
