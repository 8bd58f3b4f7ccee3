// Messages written but not yet accepted by the server: kept (across reloads) and sent in
// order, each with its own localId, so a retry of a message that did arrive is answered
// with that message instead of a copy (the server deduplicates by localId).
import { api, ApiFailure, call, uuid, type MessageInfo } from '../ui/api.ts';

export interface Pending {
  localId: string;
  chatId: string;
  text: string;
  /** The message this one answers. */
  replyTo?: number;
  failed: boolean;
  /** The server refused it (blocked, removed from the chat …): its reason; it no longer holds up the others. */
  refused?: string;
}

const KEY = 'parley.outbox';
let entries: Pending[] = read();
const listeners = new Set<() => void>();
let flushing: Promise<void> | undefined;

function read(): Pending[] {
  try {
    return JSON.parse(localStorage.getItem(KEY) ?? '[]') as Pending[];
  } catch {
    return [];
  }
}

function save(next: Pending[]) {
  entries = next;
  localStorage.setItem(KEY, JSON.stringify(entries));
  for (const listener of listeners) listener();
}

export const pendingOf = (chatId: string) => entries.filter((entry) => entry.chatId === chatId);

export function onOutboxChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function enqueue(me: number, chatId: string, text: string, replyTo?: number) {
  save([...entries, { localId: `${me}+${uuid()}`, chatId, text, ...(replyTo ? { replyTo } : {}), failed: false }]);
}

export function discard(localId: string) {
  save(entries.filter((entry) => entry.localId !== localId));
}

/** A refused message is offered again (the block may be lifted): it rejoins the queue. */
export function retry(localId: string) {
  save(entries.map((entry) => (entry.localId === localId ? { ...entry, failed: false, refused: undefined } : entry)));
}

/**
 * A refusal that sending again will not change by itself (not a lost connection, an ended
 * session, a rate limit or a server error): the message waits for the user, not the queue.
 */
const isRefusal = (error: unknown) =>
  error instanceof ApiFailure && error.status >= 400 && error.status < 500 && ![401, 408, 429].includes(error.status);

/**
 * Sends what waits, oldest first; stops at the first failure so the order holds. A message
 * the server refused is set aside with its reason, and the ones after it go on.
 */
export function flush(onSent: (message: MessageInfo) => void, onFailed: (error: unknown) => void): Promise<void> {
  flushing ??= (async () => {
    try {
      for (;;) {
        const next = entries.find((entry) => !entry.refused);
        if (!next) return;
        try {
          const message = await call(api.POST('/chats/{chatId}/messages', { params: { path: { chatId: next.chatId } }, body: { localId: next.localId, text: next.text, ...(next.replyTo ? { replyTo: next.replyTo } : {}) } }));
          save(entries.filter((entry) => entry.localId !== next.localId));
          onSent(message);
        } catch (error) {
          const refused = isRefusal(error) ? (error as ApiFailure).message : undefined;
          save(entries.map((entry) => (entry.localId === next.localId ? { ...entry, failed: true, ...(refused ? { refused } : {}) } : entry)));
          if (refused) continue;
          onFailed(error);
          return;
        }
      }
    } finally {
      flushing = undefined;
    }
  })();
  return flushing;
}
