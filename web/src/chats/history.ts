// A chat's loaded history: merging pages and live updates, and who read what.
import type { MessageInfo } from '../ui/api.ts';

export /** Oldest first, one entry per id; a page fetched before an edit or delete never undoes it. */
function merge(current: MessageInfo[], incoming: MessageInfo[]): MessageInfo[] {
  const byId = new Map(current.map((message) => [message.id, message]));
  for (const message of incoming) {
    const known = byId.get(message.id);
    if (!known || Date.parse(message.updatedAt) >= Date.parse(known.updatedAt)) byId.set(message.id, message);
  }
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

/** Who (besides me) read each message: a read mark on a message reads everything before it. */
export function readersOf(messages: MessageInfo[], me: number): Map<number, number[]> {
  const byMessage = new Map<number, number[]>();
  const seen = new Set<number>();
  for (let i = messages.length - 1; i >= 0; i--) {
    for (const mark of messages[i].readMarks ?? []) if (mark.user.id !== me) seen.add(mark.user.id);
    byMessage.set(messages[i].id, [...seen]);
  }
  return byMessage;
}
