// The messages of a chat in order, with a separator where the day changes and a "New
// messages" divider above the first message that was unread when the chat was opened.
import type { ComponentChildren, RefObject } from 'preact';
import { useEffect, useLayoutEffect, useState } from 'preact/hooks';
import type { MessageInfo } from '../ui/api.ts';

/** "Today", "Yesterday" or the date (with the year when it is not this year's). */
export function dayLabel(iso: string, now = new Date()): string {
  const date = new Date(iso);
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (date.toDateString() === now.toDateString()) return 'Today';
  if (date.toDateString() === yesterday.toDateString()) return 'Yesterday';
  return date.toLocaleDateString([], { weekday: 'long', month: 'long', day: 'numeric', ...(date.getFullYear() === now.getFullYear() ? {} : { year: 'numeric' }) });
}

export function Timeline({ messages, firstUnread, render }: { messages: MessageInfo[]; firstUnread?: number; render: (message: MessageInfo) => ComponentChildren }) {
  const items: ComponentChildren[] = [];
  let day = '';
  for (const message of messages) {
    const label = dayLabel(message.createdAt);
    if (label !== day) {
      day = label;
      items.push(
        <li key={`day-${message.id}`} class="day-separator" role="separator" aria-label={label}>
          <span>{label}</span>
        </li>,
      );
    }
    if (message.id === firstUnread)
      items.push(
        <li key="new-messages" class="new-divider" role="separator" aria-label="New messages">
          <span>New messages</span>
        </li>,
      );
    items.push(render(message));
  }
  return <>{items}</>;
}

/** Scrolls to a message in the list and shows it briefly highlighted. */
export function revealMessage(list: HTMLElement | null, id: number): boolean {
  const target = list?.querySelector<HTMLElement>(`li[data-message-id="${id}"]`);
  if (!target) return false;
  target.scrollIntoView({ block: 'center' });
  target.classList.add('highlight');
  setTimeout(() => target.classList.remove('highlight'), 2000);
  return true;
}

export function JumpToLatest({ onJump }: { onJump: () => void }) {
  return (
    <button type="button" class="jump-latest" onClick={onJump}>
      Jump to latest ↓
    </button>
  );
}

/**
 * The first message that was unread when the chat was opened (0: none), fixed from then on; a
 * chat opened with more unread than fits starts at it, not below what was missed.
 */
export function useFirstUnread(loaded: boolean, messages: MessageInfo[], me: number, readUpTo: number, list: RefObject<HTMLElement | null>) {
  const [firstUnread, setFirstUnread] = useState<number>();
  useEffect(() => {
    if (loaded && firstUnread === undefined) setFirstUnread(messages.find((m) => m.author.id !== me && !m.deletedAt && m.id > readUpTo)?.id ?? 0);
  }, [loaded]);
  useLayoutEffect(() => {
    const box = list.current;
    const divider = box?.querySelector('.new-divider');
    if (!box || !divider) return;
    const above = divider.getBoundingClientRect().top - box.getBoundingClientRect().top;
    // Not to the very top: that would load older history at once.
    if (above < 0) box.scrollTop = Math.max(41, box.scrollTop + above - 8);
  }, [firstUnread]);
  return firstUnread;
}
