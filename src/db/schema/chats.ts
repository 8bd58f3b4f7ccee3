// Chats, their members, messages, read marks and contacts (the messenger's data model;
// a Rocket.Chat room is a chat, and its E2E key data lives on the chat and membership rows).
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import { users } from './core.ts';

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();

export const chats = pgTable(
  'chats',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    title: text('title'),
    description: text('description'),
    /** A JSON object as a string (languages, language, multilingual). */
    settings: text('settings'),
    isPersonal: boolean('is_personal').notNull(),
    ownerId: integer('owner_id').references(() => users.id, { onDelete: 'set null' }),
    /** Sorted participant ids joined by ",": finds an existing chat of the same people. */
    participantsKey: text('participants_key').notNull(),
    /** Rocket.Chat `e2eKeyId` of the room; set once. */
    e2eKeyId: text('e2e_key_id'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('chats_participants_key_idx').on(t.participantsKey),
    // One personal chat per pair (or per user, for personal notes), even under concurrent creation.
    uniqueIndex('chats_personal_participants_key_uq').on(t.participantsKey).where(sql`${t.isPersonal}`),
  ],
);

export const chatMembers = pgTable(
  'chat_members',
  {
    chatId: uuid('chat_id')
      .notNull()
      .references(() => chats.id, { onDelete: 'cascade' }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text('role', { enum: ['owner', 'admin', 'member'] }).notNull().default('member'),
    isMuted: boolean('is_muted').notNull().default(false),
    isArchived: boolean('is_archived').notNull().default(false),
    isRemovedOnDevice: boolean('is_removed_on_device').notNull().default(false),
    /** This member blocked the chat. */
    isChatBlocked: boolean('is_chat_blocked').notNull().default(false),
    /** This member was blocked from the chat by another member. */
    isUserBlocked: boolean('is_user_blocked').notNull().default(false),
    /** Rocket.Chat E2E: this member's copy of the room key, encrypted with their public key. */
    e2eKey: text('e2e_key'),
    /** Rocket.Chat E2E: a room key another member suggested to this member. */
    e2eSuggestedKey: text('e2e_suggested_key'),
    joinedAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.chatId, t.userId] }), index('chat_members_user_idx').on(t.userId)],
);

export const messages = pgTable(
  'messages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    chatId: uuid('chat_id')
      .notNull()
      .references(() => chats.id, { onDelete: 'cascade' }),
    authorId: integer('author_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** Client-chosen id ("<userId>+<UUID>"): posting it twice returns the first message. */
    localId: text('local_id').notNull(),
    text: text('text').notNull().default(''),
    language: text('language'),
    isVisible: boolean('is_visible').notNull().default(true),
    replyToId: bigint('reply_to_id', { mode: 'number' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    editedAt: timestamp('edited_at', { withTimezone: true, mode: 'date' }),
    deletedAt: timestamp('deleted_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [unique('messages_chat_local_id_uq').on(t.chatId, t.localId), index('messages_chat_id_idx').on(t.chatId, t.id)],
);

export const readMarks = pgTable(
  'read_marks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    messageId: bigint('message_id', { mode: 'number' })
      .notNull()
      .references(() => messages.id, { onDelete: 'cascade' }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [unique('read_marks_message_user_uq').on(t.messageId, t.userId)],
);

export const contacts = pgTable(
  'contacts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ownerId: integer('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name'),
    isFavorite: boolean('is_favorite').notNull().default(false),
    isBlocked: boolean('is_blocked').notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [unique('contacts_owner_user_uq').on(t.ownerId, t.userId)],
);
