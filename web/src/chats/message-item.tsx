// One message: author, time, text (or its editor), attachments, for my own messages the read
// state, and its actions (reply, edit, delete) behind one menu button: one tab stop each.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { displayName, formatTime, type ChatInfo, type MessageInfo } from '../ui/api.ts';
import { RichText } from '../ui/rich-text.tsx';
import { Avatar } from '../ui/avatar.tsx';
import { Attachment } from './attachment.tsx';
import { Quote } from './reply.tsx';
import { MenuButton, type MenuItem } from '../ui/menu.tsx';

interface Props {
  message: MessageInfo;
  me: number;
  chat?: ChatInfo;
  /** Who (besides me) read this message or a later one. */
  readers: number[];
  editing: boolean;
  onEdit: (message: MessageInfo | undefined) => void;
  onSave: (message: MessageInfo, text: string) => void;
  onDelete: (message: MessageInfo) => void;
  /** The message this one answers, when it is loaded. */
  quoted?: MessageInfo;
  onReply: (message: MessageInfo) => void;
  onQuote: (id: number) => void;
}

export function MessageItem({ message, me, chat, readers, editing, onEdit, onSave, onDelete, quoted, onReply, onQuote }: Props) {
  const [editText, setEditText] = useState(message.text);
  const [confirming, setConfirming] = useState(false);
  const editor = useRef<HTMLTextAreaElement>(null);
  const menuButton = useRef<HTMLButtonElement>(null);
  const confirmButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirming) confirmButton.current?.focus();
  }, [confirming]);
  // Opened by ↑ as well as by its button: always start from the current text. A layout
  // effect, before anyone can type: a later effect could overwrite what was typed.
  useLayoutEffect(() => {
    if (editing) setEditText(message.text);
  }, [editing]);
  const mine = message.author.id === me;
  const nameOf = (id: number) => displayName(chat?.allUsers?.find((user) => user.id === id));
  const save = (event: Event) => {
    event.preventDefault();
    onSave(message, editText.trim());
  };
  const unread = !mine && !message.deletedAt;
  const author = chat?.allUsers?.find((u) => u.id === message.author.id) ?? message.author;
  const authorName = displayName(message.author.name ? message.author : author);
  const items: MenuItem[] = [{ label: 'Reply', movesFocus: true, act: () => onReply(message) }];
  if (mine && message.text)
    items.push({
      label: 'Edit',
      movesFocus: true,
      act: () => {
        setEditText(message.text);
        setConfirming(false);
        onEdit(message);
      },
    });
  if (mine) items.push({ label: 'Delete', danger: true, movesFocus: true, act: () => setConfirming(true) });
  const preview = (message.text || 'an attachment').slice(0, 40);
  const actions = !message.deletedAt && !editing && (
    <span class="actions">
      {confirming ? (
        <span role="group" aria-label="Delete this message?">
          <button type="button" ref={confirmButton} class="link danger" onClick={() => onDelete(message)}>
            Yes, delete
          </button>
          <button
            type="button"
            class="link"
            onClick={() => {
              setConfirming(false);
              setTimeout(() => menuButton.current?.focus(), 0);
            }}
          >
            Keep
          </button>
        </span>
      ) : (
        <MenuButton id={`message-menu-${message.id}`} class="message-menu" label={`Actions for ${mine ? 'your message' : `${authorName}’s message`}: ${preview}`} menuLabel="Message actions" items={items} buttonRef={menuButton}>
          ⋯
        </MenuButton>
      )}
    </span>
  );
  return (
    <li class={`message ${mine ? 'mine' : 'theirs'}`} data-message-id={message.id} data-theirs={unread ? '' : undefined}>
      <div class="meta">
        {!mine && <Avatar user={author} name={authorName} />}
        <span class="author">{mine ? 'You' : authorName}</span>
        <time dateTime={message.createdAt} title={new Date(message.createdAt).toLocaleString()}>
          {formatTime(message.createdAt)}
        </time>
        {message.editedAt && !message.deletedAt && <span class="edited">edited</span>}
      </div>
      {message.replyTo && !message.deletedAt && <Quote id={message.replyTo} quoted={quoted} me={me} chat={chat} onQuote={onQuote} />}
      {message.deletedAt ? (
        <p class="text deleted">Message deleted</p>
      ) : editing ? (
        <form class="edit" onSubmit={save}>
          <label>
            Edit message
            <textarea
              ref={(element) => {
                editor.current = element;
                if (element && document.activeElement !== element && !element.dataset.focused) {
                  element.dataset.focused = '1';
                  element.focus();
                }
              }}
              value={editText}
              rows={2}
              onInput={(e) => setEditText(e.currentTarget.value)}
              onKeyDown={(e) => {
                if (e.key === 'Escape') {
                  // Closes the editor only, not the chat.
                  e.preventDefault();
                  onEdit(undefined);
                }
                if (e.key === 'Enter' && !e.shiftKey) save(e);
              }}
            />
          </label>
          <div class="actions">
            <button type="submit" class="primary">
              Save
            </button>
            <button type="button" onClick={() => onEdit(undefined)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        message.text && (
          <div class="text">
            <RichText text={message.text} />
          </div>
        )
      )}
      {!message.deletedAt && message.attachments?.map((media) => <Attachment key={media.id} media={media} sentAt={message.createdAt} />)}
      {!mine && actions && <div class="status-line">{actions}</div>}
      {mine && !message.deletedAt && (
        <div class="status-line">
          <span class={readers.length ? 'read' : 'sent'}>
            {readers.length ? (chat?.isPersonal ? '✓✓ Read' : `✓✓ Read by ${readers.map(nameOf).join(', ')}`) : '✓ Sent'}
          </span>
          {actions}
        </div>
      )}
    </li>
  );
}
