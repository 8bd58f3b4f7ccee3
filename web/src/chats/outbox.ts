// Messages written but not yet accepted by the server: kept (across reloads) and sent in
// order, each with its own localId, so a retry of a message that did arrive is answered
// with that message instead of a copy (the server deduplicates by localId).
import { api, call, uuid, type MessageInfo } from '../ui/api.ts';

export interface Pending {
  localId: string;
  chatId: string;
  text: string;
  /** The message this one answers. */
  replyTo?: number;
  failed: boolean;
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

/** Sends what waits, oldest first; stops at the first failure so the order holds. */
export function flush(onSent: (message: MessageInfo) => void, onFailed: (error: unknown) => void): Promise<void> {
  flushing ??= (async () => {
    try {
      for (;;) {
        const next = entries[0];
        if (!next) return;
        try {
          const message = await call(api.POST('/chats/{chatId}/messages', { params: { path: { chatId: next.chatId } }, body: { localId: next.localId, text: next.text, ...(next.replyTo ? { replyTo: next.replyTo } : {}) } }));
          save(entries.filter((entry) => entry.localId !== next.localId));
          onSent(message);
        } catch (error) {
          save(entries.map((entry) => (entry.localId === next.localId ? { ...entry, failed: true } : entry)));
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
