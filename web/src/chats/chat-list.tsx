// The chat list: title, last message (and who wrote it), time and unread count of each chat,
// newest first; each entry's accessible name says all of it in one sentence.
import { useState } from 'preact/hooks';
import { chatTitle, displayName, formatTime, type ChatInfo } from '../ui/api.ts';
import { Avatar } from '../ui/avatar.tsx';

/** One wording for the badge and the label, so sighted and screen-reader users hear the same number. */
export const unreadText = (count: number) => (count > 99 ? '99+' : String(count));

export function ChatList({ chats, me, unread, openChatId, onOpen }: { chats: ChatInfo[]; me: number; unread: Record<string, number>; openChatId?: string; onOpen: (chatId: string) => void }) {
  const [query, setQuery] = useState('');
  const [archivedShown, setArchivedShown] = useState(false);
  if (chats.length === 0) return <p class="empty">No chats yet. Start one with “New chat”.</p>;
  const wanted = query.trim().toLocaleLowerCase();
  // Archived chats live behind the "Archived" toggle, the others in the main list.
  const archived = chats.filter((chat) => chat.isArchived);
  const listed = archivedShown ? archived : chats.filter((chat) => !chat.isArchived);
  const shown = wanted ? listed.filter((chat) => chatTitle(chat, me).toLocaleLowerCase().includes(wanted)) : listed;
  return (
    <>
      <div class="chat-search">
        <label class="visually-hidden" for="chat-search">
          Search chats
        </label>
        <input id="chat-search" type="search" placeholder="Search chats" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
      </div>
      {(archived.length > 0 || archivedShown) && (
        <button type="button" class="link archived-toggle" aria-pressed={archivedShown} onClick={() => setArchivedShown(!archivedShown)}>
          {archivedShown ? '← All chats' : `Archived (${archived.length})`}
        </button>
      )}
      {shown.length === 0 && <p class="empty">{wanted ? `No chat is called “${query.trim()}”.` : archivedShown ? 'No archived chats.' : 'All your chats are archived.'}</p>}
      <ul class="chat-list" aria-labelledby="chats-title">
        {shown.map((chat) => {
          const count = unread[chat.id] ?? 0;
          const last = chat.lastMessage;
          const title = chatTitle(chat, me);
          const preview = last ? (last.deletedAt ? 'Message deleted' : last.text || (last.attachments?.length ? 'Attachment' : '')) : 'No messages yet';
          const time = formatTime(last?.createdAt ?? chat.createdAt);
          // Who wrote it, where the title does not say: me anywhere, the author in a group.
          const from = !last || last.deletedAt ? '' : last.author.id === me ? 'You' : chat.isPersonal ? '' : displayName(chat.allUsers?.find((u) => u.id === last.author.id) ?? last.author);
          // A personal chat shows the other person's photo; a group its initials.
          const other = chat.isPersonal ? chat.allUsers?.find((user) => user.id !== me) : undefined;
          return (
            <li key={chat.id}>
              <a
                href={`/?chat=${chat.id}`}
                class="chat-item with-avatar"
                data-chat-id={chat.id}
                aria-current={chat.id === openChatId ? 'page' : undefined}
                aria-label={`${title}${chat.isMuted ? ', muted' : ''}${count ? `, ${unreadText(count)} unread` : ''}. ${from ? `${from}: ` : ''}${preview}${time ? `, ${time}` : ''}`}
                onClick={(event) => {
                  // A plain click opens in place; Ctrl/⌘/middle click keep the browser's behaviour.
                  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
                  event.preventDefault();
                  onOpen(chat.id);
                }}
              >
                <Avatar user={other ?? (chat.images?.length ? { photos: chat.images } : undefined)} name={title} />
                <span class="chat-item-text">
                <span class="chat-item-top">
                  <span class="chat-name">{title}</span>
                  {chat.isMuted && (
                    <span class="muted-marker" aria-hidden="true" title="Muted">
                      Muted
                    </span>
                  )}
                  <time dateTime={last?.createdAt ?? chat.createdAt}>{time}</time>
                </span>
                <span class="chat-item-bottom">
                  <span class="last-message">
                    {from && <span class="last-author">{from}: </span>}
                    {preview}
                  </span>
                  {count > 0 && (
                    <span class="badge" aria-hidden="true">
                      {unreadText(count)}
                    </span>
                  )}
                </span>
                </span>
              </a>
            </li>
          );
        })}
      </ul>
    </>
  );
}
