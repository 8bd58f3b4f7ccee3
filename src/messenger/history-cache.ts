// History pages answered from memory: the JSON text of a page (chat, count, before), as the
// database built it. A chat's pages go when one of its history events is published here or
// arrives from another process (the realtime bus: the same notice that tells that process's
// sockets), so a process never serves a page older than what its sockets have delivered.
// Pages also go when a user on them (author or reader) changes name, photo or account (at
// once here, elsewhere by the users change-notice), and after a TTL, the net for a change
// whose event reached nobody.
import { USER_CHANGED_CHANNEL } from '../db/change-notices.ts';
import { NoticedCache } from '../db/noticed-cache.ts';
import type { EventBus } from '../realtime/bus.ts';
import type { Delivery } from '../realtime/events.ts';
import type { ChatEventName } from './events.ts';

/** The events that change what a history page shows. */
const HISTORY_EVENTS: ReadonlySet<string> = new Set<ChatEventName>(['message', 'messageUpdate', 'messageRead', 'chatCleared', 'chatDeleted']);

export const changesHistory = (event: string) => HISTORY_EVENTS.has(event);

export interface HistoryPage {
  chatId: string;
  /** The JSON array of MessageInfo. */
  json: string;
  /** Authors and readers on the page. */
  userIds: number[];
}

const pageKey = (chatId: string, count: number, before?: number) => `${chatId}\n${count}\n${before ?? ''}`;

export class HistoryCache {
  private readonly pages: NoticedCache<string, HistoryPage>;
  private readonly keysByChat = new Map<string, Set<string>>();
  private readonly keysByUser = new Map<number, Set<string>>();
  /** Loads in flight per chat; one overlapped by a change of its chat is answered, not kept. */
  private readonly loading = new Map<string, { count: number; changed: boolean }>();

  /** `maxBytes` 0 turns the cache off. */
  constructor(private readonly options: { maxBytes: number; ttlMs?: number }) {
    this.pages = new NoticedCache<string, HistoryPage>({
      max: 0,
      maxSize: { total: Math.max(1, options.maxBytes), sizeOf: (page) => page.json.length + 64 },
      ttlMs: options.ttlMs ?? 60_000,
      onRemove: (page, key) => this.unindex(page, key),
    });
  }

  listen(bus: EventBus): Promise<void> {
    return this.pages.listen(bus, USER_CHANGED_CHANNEL, (userId) => this.forgetUser(Number(userId)));
  }

  /** The user's name, photos or account changed: every page showing them goes. */
  forgetUser(userId: number): void {
    // Which chats a load in flight will show is not known yet: none of them is kept.
    for (const load of this.loading.values()) load.changed = true;
    this.forget(this.keysByUser.get(userId));
  }

  /** A delivery published here or received from another process. */
  observe(delivery: Delivery): void {
    if (delivery.chatId && changesHistory(delivery.event.event)) this.forgetChat(delivery.chatId);
  }

  forgetChat(chatId: string): void {
    const load = this.loading.get(chatId);
    if (load) load.changed = true;
    this.forget(this.keysByChat.get(chatId));
  }

  /** The page from memory, or `load`'s, kept unless a change of the chat overlapped the load. */
  async page(chatId: string, count: number, before: number | undefined, load: () => Promise<HistoryPage>): Promise<string> {
    if (this.options.maxBytes <= 0) return (await load()).json;
    const key = pageKey(chatId, count, before);
    const cached = this.pages.get(key);
    if (cached) return cached.json;
    const inFlight = this.loading.get(chatId) ?? { count: 0, changed: false };
    inFlight.count += 1;
    this.loading.set(chatId, inFlight);
    try {
      const epoch = this.pages.epochBefore();
      const page = await load();
      if (!inFlight.changed && this.pages.keep(key, page, epoch)) this.index(page, key);
      return page.json;
    } finally {
      if (--inFlight.count === 0) this.loading.delete(chatId);
    }
  }

  get size(): number {
    return this.pages.size;
  }

  private forget(keys: Set<string> | undefined): void {
    // A copy: forgetting removes the keys from the very sets being read. Nothing to forget is
    // no invalidation (it would keep other chats' loads in flight from being kept).
    if (keys) this.pages.forget([...keys]);
  }

  private index(page: HistoryPage, key: string): void {
    add(this.keysByChat, page.chatId, key);
    for (const userId of page.userIds) add(this.keysByUser, userId, key);
  }

  private unindex(page: HistoryPage, key: string): void {
    remove(this.keysByChat, page.chatId, key);
    for (const userId of page.userIds) remove(this.keysByUser, userId, key);
  }
}

function add<K>(index: Map<K, Set<string>>, at: K, key: string): void {
  const keys = index.get(at);
  if (keys) keys.add(key);
  else index.set(at, new Set([key]));
}

function remove<K>(index: Map<K, Set<string>>, at: K, key: string): void {
  const keys = index.get(at);
  if (!keys) return;
  keys.delete(key);
  if (keys.size === 0) index.delete(at);
}
