// Who hears about a chat, and publishing after commit: the one place that decides the
// recipients of the messenger's realtime events.
import { and, eq } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { chatMembers } from '../db/schema/index.ts';
import type { Kernel } from '../kernel.ts';
import { changesHistory } from './history-cache.ts';

export type ChatEventName =
  | 'message'
  | 'messageUpdate'
  | 'messageRead'
  | 'chatUpdate'
  | 'addedUsers'
  | 'removedUsers'
  | 'chatCleared'
  | 'chatDeleted'
  | 'auxiliary';

/** Members who are neither blocked in the chat nor have blocked it (the actor included). */
export async function chatRecipients(db: Executor, chatId: string): Promise<number[]> {
  const rows = await db
    .select({ userId: chatMembers.userId })
    .from(chatMembers)
    .where(and(eq(chatMembers.chatId, chatId), eq(chatMembers.isUserBlocked, false), eq(chatMembers.isChatBlocked, false)));
  return rows.map((row) => row.userId);
}

export interface ChatEvent {
  chatId: string;
  userIds: number[];
  event: ChatEventName;
  /** The acting user. */
  actorId: number;
  payload: unknown;
  /** Web Push for sessions without a socket (muted chats are skipped by the bus). */
  push?: boolean;
  /** False sends Web Push only (notify with realm "push"). */
  webSocket?: boolean;
}

/**
 * Call only after the transaction committed. A failed hand-off is logged: the change itself
 * stands. This process's cached history of the chat goes first, before the caller answers.
 */
export async function publishChatEvent(k: Kernel, event: ChatEvent): Promise<void> {
  if (changesHistory(event.event)) k.history.forgetChat(event.chatId);
  if (event.userIds.length === 0) return;
  try {
    await k.realtime.publish({
      userIds: [...new Set(event.userIds)],
      event: { event: event.event, source: String(event.actorId), payload: event.payload },
      chatId: event.chatId,
      push: event.push ?? false,
      webSocket: event.webSocket ?? true,
    });
  } catch (error) {
    k.log.error({ err: error, event: event.event, chatId: event.chatId }, 'realtime publish failed');
  }
}
