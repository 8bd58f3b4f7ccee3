// Replies: the quoted preview above a message that answers another (a button that scrolls to
// the original), and the bar above the composer saying what is being answered.
import { displayName, type ChatInfo, type MessageInfo } from '../ui/api.ts';

const snippet = (message: MessageInfo) =>
  message.deletedAt ? 'Message deleted' : (message.text ?? '').replace(/\s+/g, ' ').slice(0, 120) || (message.attachments?.length ? 'Attachment' : '');

const authorOf = (message: MessageInfo, me: number, chat?: ChatInfo) =>
  message.author.id === me ? 'You' : displayName(message.author.name ? message.author : chat?.allUsers?.find((u) => u.id === message.author.id));

export function Quote({ id, quoted, me, chat, onQuote }: { id: number; quoted?: MessageInfo; me: number; chat?: ChatInfo; onQuote: (id: number) => void }) {
  const who = quoted ? authorOf(quoted, me, chat) : '';
  return (
    <button type="button" class="quote" onClick={() => onQuote(id)} aria-label={quoted ? `In reply to ${who}: ${snippet(quoted)}. Show the original` : 'In reply to an earlier message. Show it'}>
      {quoted ? (
        <>
          <span class="quote-author">{who}</span>
          <span class="quote-text">{snippet(quoted)}</span>
        </>
      ) : (
        <span class="quote-text">An earlier message</span>
      )}
    </button>
  );
}

export function ReplyBar({ target, me, chat, onCancel }: { target: MessageInfo; me: number; chat?: ChatInfo; onCancel: () => void }) {
  return (
    <div class="reply-bar" role="status">
      <span class="quote-line">
        <span class="quote-author">Replying to {authorOf(target, me, chat)}</span>
        <span class="quote-text">{snippet(target)}</span>
      </span>
      <button type="button" class="link" onClick={onCancel} aria-label="Cancel reply">
        Cancel
      </button>
    </div>
  );
}
