// Who may read a chat, from memory: the caller's standing in a chat (no chat, not a member,
// blocked, active), per (chat, user). Entries go when the membership trigger reports the
// chat, in every process (src/db/noticed-cache.ts); a request that removes or blocks members
// answers only once its own notice is back, so no process lets them read after that answer.
import { sql } from 'drizzle-orm';
import { queryRows, type Executor } from '../db/client.ts';
import { MEMBERSHIP_CHANGED_CHANNEL } from '../db/change-notices.ts';
import { NoticedCache } from '../db/noticed-cache.ts';
import { forbidden, notFound } from '../http/errors.ts';
import type { EventBus } from '../realtime/bus.ts';

type Standing = 'no chat' | 'outsider' | 'blocked' | 'active';

const key = (chatId: string, userId: number) => `${chatId}\n${userId}`;

export class MembershipCache {
  private readonly standings: NoticedCache<string, Standing>;
  private readonly keysByChat = new Map<string, Set<string>>();

  constructor(options: { max: number; ttlMs?: number }) {
    this.standings = new NoticedCache<string, Standing>({
      max: options.max,
      ttlMs: options.ttlMs ?? 300_000,
      onRemove: (_standing, removed) => {
        const chatId = removed.slice(0, removed.indexOf('\n'));
        const keys = this.keysByChat.get(chatId);
        keys?.delete(removed);
        if (keys?.size === 0) this.keysByChat.delete(chatId);
      },
    });
  }

  listen(bus: EventBus): Promise<void> {
    return this.standings.listen(bus, MEMBERSHIP_CHANGED_CHANNEL, (chatId) => {
      const keys = this.keysByChat.get(chatId);
      if (keys) this.standings.forget([...keys]);
    });
  }

  /** A member who is not blocked, as chatAccess + requireActiveMember decide, with the same errors. */
  async requireActiveMember(db: Executor, chatId: string, userId: number): Promise<void> {
    const at = key(chatId, userId);
    let standing = this.standings.get(at);
    if (standing === undefined) {
      const epoch = this.standings.epochBefore();
      standing = await loadStanding(db, chatId, userId);
      if (this.standings.keep(at, standing, epoch)) {
        const keys = this.keysByChat.get(chatId);
        if (keys) keys.add(at);
        else this.keysByChat.set(chatId, new Set([at]));
      }
    }
    if (standing === 'no chat') throw notFound('Chat not found');
    if (standing === 'outsider') throw forbidden('You are not a member of this chat');
    if (standing === 'blocked') throw forbidden('You are blocked in this chat');
  }

  /**
   * Call before a write that removes or blocks members of `chatId`; await `heard` after the
   * commit (`cancel` if nothing was written): by then every process has dropped the chat.
   */
  expectChange(chatId: string): { heard: Promise<void>; cancel: () => void } {
    return this.standings.expect(MEMBERSHIP_CHANGED_CHANNEL, chatId);
  }

  get size(): number {
    return this.standings.size;
  }
}

async function loadStanding(db: Executor, chatId: string, userId: number): Promise<Standing> {
  const [row] = await queryRows<{ member: boolean; blocked: boolean | null }>(
    db,
    sql`select m.user_id is not null as member, m.is_user_blocked as blocked
      from chats c left join chat_members m on m.chat_id = c.id and m.user_id = ${userId} where c.id = ${chatId}`,
  );
  if (!row) return 'no chat';
  if (!row.member) return 'outsider';
  return row.blocked ? 'blocked' : 'active';
}
