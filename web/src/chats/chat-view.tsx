// One chat: its history (use-chat-history.ts), the composer with its outbox and attachments,
// read marks for what is on screen, who is online, and the members of a group.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, call, chatTitle, displayName, errorText, uuid, type ChatInfo, type MediaInfo, type MessageInfo } from '../ui/api.ts';
import type { RealtimeStatus, Subscribe } from '../ui/realtime.ts';
import { readersOf } from './history.ts';
import { ChatHead } from './chat-head.tsx';
import { MessageItem } from './message-item.tsx';
import { Composer, PendingItem } from './composer.tsx';
import { enqueue, flush, onOutboxChange, pendingOf, retry } from './outbox.ts';
import { useTyping, useTypingSender } from './typing.ts';
import { useReadMarks } from './read-marks.ts';
import { JumpToLatest, revealMessage, Timeline, useFirstUnread } from './timeline.tsx';
import { ReplyBar } from './reply.tsx';
import { messageActions } from './message-actions.ts';
import { useChatHistory } from './use-chat-history.ts';
import { useAttachments } from './use-attachments.ts';
import { usePresence } from './presence.ts';

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
  const [error, setError] = useState('');
  const [info, setInfo] = useState('');
  const [draft, setDraft] = useState('');
  const [editing, setEditing] = useState<number>();
  const [pending, setPending] = useState(() => pendingOf(chatId));
  const [replyTo, setReplyTo] = useState<MessageInfo>();
  const list = useRef<HTMLDivElement>(null);
  const composer = useRef<HTMLTextAreaElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  const fail = (failure: unknown) => {
    if (!onExpired(failure)) setError(errorText(failure));
  };
  const sendWaiting = () => flush((message) => (message.chatId === chatId ? history.received(message) : undefined), fail);
  const history = useChatHistory({ chatId, me, listed, subscribe, list, pendingCount: pending.length, onResync: () => void sendWaiting(), onInfo: setInfo, fail });
  const { chat, messages } = history;

  useEffect(() => {
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

  const { readUpTo } = useReadMarks(chatId, me, messages, list, history.changed, fail);
  const unreadCount = messages.filter((message) => message.author.id !== me && !message.deletedAt && message.id > readUpTo).length;
  useEffect(() => onUnread(chatId, unreadCount), [unreadCount]);
  const firstUnread = useFirstUnread(history.loaded, messages, me, readUpTo, list);
  const readers = useMemo(() => readersOf(messages, me), [messages, me]);

  const others = (chat?.allUsers ?? []).filter((user) => user.id !== me);
  const presence = usePresence(
    others.map((user) => user.id),
    subscribe,
  );

  const post = async (text: string, attachments?: MediaInfo[]) => {
    const message = await call(
      api.POST('/chats/{chatId}/messages', {
        params: { path: { chatId } },
        body: { localId: `${me}+${uuid()}`, ...(text ? { text } : {}), ...(attachments ? { attachments: attachments as never } : {}), ...(replyTo ? { replyTo: replyTo.id } : {}) },
      }),
    );
    history.received(message);
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

  const attachments = useAttachments(async (media) => {
    setError('');
    await post(draft.trim(), [media]);
    setDraft('');
  }, fail);

  const actions = messageActions(chatId, history.changed, fail);
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

  return (
    <section class={attachments.dragging ? 'chat dragging' : 'chat'} aria-labelledby="chat-title" {...attachments.dropZone}>
      <ChatHead
        chat={chat}
        me={me}
        title={title}
        heading={heading}
        presence={presence}
        error={error}
        info={info}
        onDismiss={() => setError('')}
        onBack={onBack}
        onChat={(next) => {
          history.setChat(next);
          onChanged();
        }}
        onLeft={onClosed}
        onError={fail}
      />
      <div class="messages-wrap">
        {/* Not a live region: a page of older history would be read out. New messages are announced below. */}
        <div class="messages" ref={list} onScroll={history.onScroll} role="region" aria-label={`Messages in ${title}`} aria-busy={history.loadingOlder}>
          {history.hasMore && (
            <button type="button" class="older" onClick={history.loadOlder} disabled={history.loadingOlder}>
              {history.loadingOlder ? 'Loading older messages…' : 'Load older messages'}
            </button>
          )}
          {history.loaded && messages.length === 0 && pending.length === 0 && <p class="empty">No messages yet. Say hello!</p>}
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
              <PendingItem
                key={entry.localId}
                entry={entry}
                offline={status !== 'online'}
                onRetry={() => {
                  retry(entry.localId);
                  void sendWaiting();
                }}
              />
            ))}
          </ol>
        </div>
        {history.scrolledUp && <JumpToLatest onJump={history.jumpToLatest} />}
      </div>
      <p class="visually-hidden" id="message-announcer" aria-live="polite" aria-atomic="true">
        {history.announcement}
      </p>
      <p class="typing" aria-live="polite">
        {typingNames.length ? `${typingNames.join(', ')} ${typingNames.length > 1 ? 'are' : 'is'} typing…` : ''}
      </p>
      {replyTo && <ReplyBar target={replyTo} me={me} chat={chat} onCancel={() => setReplyTo(undefined)} />}
      <Composer
        composer={composer}
        draft={draft}
        placeholder={others.length ? `Message ${title}` : 'Write a message'}
        upload={attachments.upload}
        onDraft={(text) => {
          setDraft(text);
          if (text.trim()) typed();
        }}
        onSend={send}
        onAttach={attachments.onPicked}
        onEditLast={() => setEditing([...messages].reverse().find((message) => message.author.id === me && !message.deletedAt && message.text)?.id)}
      />
    </section>
  );
}
