// The top of an open chat: back (phone), title, whether the other person is online, members
// of a group, and the chat's notices.
import type { RefObject } from 'preact';
import { useState } from 'preact/hooks';
import type { ChatInfo } from '../ui/api.ts';
import { Members } from './members.tsx';
import { ChatMenu } from './chat-menu.tsx';
import { Avatar } from '../ui/avatar.tsx';
import { presenceText, type Presence } from './presence.ts';

interface Props {
  chat?: ChatInfo;
  me: number;
  title: string;
  heading: RefObject<HTMLHeadingElement | null>;
  presence: Map<number, Presence>;
  error: string;
  info: string;
  onDismiss: () => void;
  onBack: () => void;
  onChat: (chat: ChatInfo) => void;
  onLeft: () => void;
  onError: (error: unknown) => void;
}

export function ChatHead({ chat, me, title, heading, presence, error, info, onDismiss, onBack, onChat, onLeft, onError }: Props) {
  const [showMembers, setShowMembers] = useState(false);
  const other = chat?.isPersonal ? chat.allUsers?.find((user) => user.id !== me) : undefined;
  const otherPresence = other && presenceText(presence.get(other.id));
  return (
    <>
      <header class="chat-head">
        <button type="button" class="back" onClick={onBack}>
          ← Chats
        </button>
        {chat && !chat.isPersonal && <Avatar user={chat.images?.length ? { photos: chat.images } : undefined} name={title} />}
        <div class="chat-title">
          <h2 id="chat-title" ref={heading} tabIndex={-1}>
            {title}
            {chat?.isMuted && <span class="muted-marker"> (muted)</span>}
          </h2>
          {otherPresence && <p class={`presence ${otherPresence === 'online' ? 'online' : ''}`}>{otherPresence}</p>}
        </div>
        {chat && !chat.isPersonal && (
          <button type="button" aria-expanded={showMembers} aria-controls="members" onClick={() => setShowMembers(!showMembers)}>
            Members ({chat.allUsers?.length ?? 0})
          </button>
        )}
        {chat && <ChatMenu chat={chat} me={me} onChat={onChat} onGone={onLeft} onError={onError} />}
      </header>
      {showMembers && chat && <Members chat={chat} me={me} presence={presence} onChat={onChat} onLeft={onLeft} onError={onError} />}
      {error && (
        <p class="error" role="alert">
          {error}{' '}
          <button type="button" class="link" onClick={onDismiss}>
            Dismiss
          </button>
        </p>
      )}
      {info && (
        <p class="notice" role="status">
          {info}
        </p>
      )}
    </>
  );
}
