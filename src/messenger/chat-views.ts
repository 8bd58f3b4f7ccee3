// Chats and messages as the messenger's JSON objects (ChatInfo, MessageInfo, ContactInfo),
// loaded with a constant number of SQL statements: nested lists (photos, attachments,
// read marks, members) are aggregated as JSON inside the same statement.
import { and, desc, eq, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { queryRows, type Executor } from '../db/client.ts';
import { chatMembers, chats, messages, users } from '../db/schema/index.ts';
import type { components } from '../generated/messenger.ts';
import type { HistoryPage } from './history-cache.ts';
import type { MediaInfo, UserInfo } from './views.ts';

type Schemas = components['schemas'];
export type ChatInfo = Schemas['ChatInfo'];
export type MessageInfo = Schemas['MessageInfo'];
export type ContactInfo = Schemas['ContactInfo'];
export type ChatRow = typeof chats.$inferSelect;
export type MemberRow = typeof chatMembers.$inferSelect;

/** A timestamp as ISO 8601 UTC with milliseconds, formatted by the database. */
const isoSql = (expression: string) => `to_char(${expression} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const MEDIA_JSON = `json_build_object('id', p.id, 'fileType', p.file_type, 'fileSize', p.file_size,
  'previewWidth', p.preview_width, 'previewHeight', p.preview_height, 'duration', p.duration,
  'createdAt', ${isoSql('p.created_at')}, 'uploadedAt', ${isoSql('p.uploaded_at')})`;

/** The profile photos of a user, newest first, as a JSON array. */
export const photosJson = (userId: SQL | SQL.Aliased | unknown) =>
  sql`coalesce((select json_agg(${sql.raw(MEDIA_JSON)} order by p.created_at desc, p.id desc) from media p where p.photo_of_user_id = ${userId}), '[]'::json)`;

const USER_JSON = `json_build_object('id', u.id, 'name', u.name, 'username', u.username, 'createdAt', ${isoSql('u.created_at')},
  'photos', coalesce((select json_agg(${MEDIA_JSON} order by p.created_at desc, p.id desc) from media p where p.photo_of_user_id = u.id), '[]'::json))`;

/** Members of a chat (filtered by `condition` on `cm`) as a JSON array of UserInfo. */
const membersJson = (chatId: unknown, condition = 'true') =>
  sql`coalesce((select json_agg(${sql.raw(USER_JSON)} order by u.id) from chat_members cm join users u on u.id = cm.user_id where cm.chat_id = ${chatId} and ${sql.raw(condition)}), '[]'::json)`;

/** Users by id as a JSON array of UserInfo. */
export function usersJson(userIds: number[]) {
  return sql`coalesce((select json_agg(${sql.raw(USER_JSON)} order by u.id) from users u where u.id in (${sql.join(
    userIds.map((id) => sql`${id}`),
    sql`, `,
  )})), '[]'::json)`;
}

export interface MediaJson {
  id: string;
  fileType: string;
  fileSize: number;
  previewWidth: number | null;
  previewHeight: number | null;
  duration: number | null;
  createdAt: string | null;
  uploadedAt: string | null;
}

interface UserJson {
  id: number;
  name: string;
  username: string;
  createdAt: string | null;
  photos: MediaJson[];
}

/** postgres.js and PGlite both parse json columns; a driver that does not gives text. */
export function parseJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

export function mediaFromJson(row: MediaJson): MediaInfo {
  const info: MediaInfo = { id: row.id, fileType: row.fileType, fileSize: Number(row.fileSize) };
  if (row.previewWidth !== null) info.previewWidth = row.previewWidth;
  if (row.previewHeight !== null) info.previewHeight = row.previewHeight;
  if (row.duration !== null) info.duration = row.duration;
  if (row.createdAt) info.createdAt = row.createdAt;
  if (row.uploadedAt) info.uploadedAt = row.uploadedAt;
  return info;
}

export function userFromJson(row: UserJson): UserInfo {
  const info: UserInfo = { id: row.id, name: row.name, username: row.username };
  if (row.createdAt) info.createdAt = row.createdAt;
  if (row.photos?.length) info.photos = row.photos.map(mediaFromJson);
  return info;
}

export const usersFromJson = (value: unknown): UserInfo[] => parseJson<UserJson[]>(value).map(userFromJson);

const iso = (date: Date | null | undefined) => date?.toISOString();

// ---------------------------------------------------------------------------------------
// Messages

/** The profile photos of the user `userId` (an SQL expression), newest first; null when none. */
const photosOf = (userId: string) =>
  `(select json_agg(${MEDIA_JSON} order by p.created_at desc, p.id desc) from media p where p.photo_of_user_id = ${userId})`;

/**
 * MessageInfo as the database builds it (`m`: a messages row). A field the API omits when
 * empty is null here, and json_strip_nulls drops it: nothing in a message is null on purpose.
 */
const MESSAGE_JSON = `json_strip_nulls(json_build_object('id', m.id, 'localId', m.local_id, 'chatId', m.chat_id,
  'author', (select json_build_object('id', u.id, 'name', u.name, 'username', u.username, 'createdAt', ${isoSql('u.created_at')},
    'photos', ${photosOf('u.id')}) from users u where u.id = m.author_id),
  'text', m.text, 'language', m.language, 'isVisible', m.is_visible, 'replyTo', m.reply_to_id,
  'createdAt', ${isoSql('m.created_at')}, 'updatedAt', ${isoSql('m.updated_at')},
  'editedAt', ${isoSql('m.edited_at')}, 'deletedAt', ${isoSql('m.deleted_at')},
  'readMarks', (select json_agg(json_build_object('id', r.id, 'user', json_build_object('id', r.user_id), 'createdAt', ${isoSql('r.created_at')})
    order by r.created_at, r.id) from read_marks r where r.message_id = m.id),
  'attachments', (select json_agg(${MEDIA_JSON} order by p.position, p.id) from media p where p.message_id = m.id)))`;

/** The messages matching `where` (conditions on `messages`), newest first, as a JSON array text. */
async function messagesJsonText(db: Executor, where: SQL | undefined, limit?: number): Promise<string> {
  const [row] = await queryRows<{ page: string }>(
    db,
    sql`select coalesce(json_agg(${sql.raw(MESSAGE_JSON)} order by m.id desc), '[]')::text as page
      from (select * from ${messages} where ${where ?? sql`true`} order by ${messages.id} desc ${limit === undefined ? sql`` : sql`limit ${limit}`}) m`,
  );
  return row.page;
}

/** The messages matching `where`, newest first, as MessageInfo objects. */
export async function loadMessages(db: Executor, where: SQL | undefined, limit?: number): Promise<MessageInfo[]> {
  return JSON.parse(await messagesJsonText(db, where, limit)) as MessageInfo[];
}

export async function loadMessage(db: Executor, messageId: number): Promise<MessageInfo> {
  const [message] = await loadMessages(db, eq(messages.id, messageId), 1);
  return message;
}

/** A just-inserted message row (alias `alias`) as JSON: no edits, read marks or attachments yet. */
export const newMessageJson = (alias: string) =>
  sql.raw(`json_build_object('id', ${alias}.id, 'localId', ${alias}.local_id, 'chatId', ${alias}.chat_id, 'text', ${alias}.text,
    'language', ${alias}.language, 'isVisible', ${alias}.is_visible, 'replyTo', ${alias}.reply_to_id,
    'createdAt', ${isoSql(`${alias}.created_at`)}, 'updatedAt', ${isoSql(`${alias}.updated_at`)})`);

/** A user (by id) as UserInfo JSON with photos. */
export const userJson = (userId: number) => sql`(select ${sql.raw(USER_JSON)} from users u where u.id = ${userId})`;

export interface NewMessageJson {
  id: number;
  localId: string;
  chatId: string;
  text: string;
  language: string | null;
  isVisible: boolean;
  replyTo: number | null;
  createdAt: string;
  updatedAt: string;
}

export function newMessageFromJson(row: NewMessageJson, authorJson: unknown): MessageInfo {
  const info: MessageInfo = {
    id: Number(row.id),
    localId: row.localId,
    chatId: row.chatId,
    author: userFromJson(parseJson<UserJson>(authorJson)),
    text: row.text,
    isVisible: row.isVisible,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
  if (row.language) info.language = row.language;
  if (row.replyTo !== null) info.replyTo = Number(row.replyTo);
  return info;
}

/**
 * A history page (newest first, strictly older than `before`, a message id, when given) as
 * the JSON array text the API answers with, built by the database in one statement and sent
 * without being parsed and serialized again (npm run bench, history page); with the users
 * on it (authors and readers), whose changes make it stale.
 */
export async function historyPage(db: Executor, chatId: string, count: number, before?: number): Promise<HistoryPage> {
  const [row] = await queryRows<{ page: string; users: string }>(
    db,
    sql`with m as (
        select * from ${messages} where ${and(eq(messages.chatId, chatId), before ? lt(messages.id, before) : undefined)}
        order by ${messages.id} desc limit ${count})
      select coalesce((select json_agg(${sql.raw(MESSAGE_JSON)} order by m.id desc) from m), '[]')::text as page,
        (select coalesce(json_agg(u.id), '[]') from (select author_id from m union select r.user_id from read_marks r join m on r.message_id = m.id) u(id))::text as users`,
  );
  return { chatId, json: row.page, userIds: JSON.parse(row.users) as number[] };
}

// ---------------------------------------------------------------------------------------
// Chats

const owner = alias(users, 'owner');

export interface ChatViewOptions {
  /** Adds allUsers. */
  allUsers?: boolean;
  /** Adds blockedUsers. */
  blockedUsers?: boolean;
  /** Adds images. */
  images?: boolean;
  /** Adds lastMessage. */
  lastMessage?: boolean;
  /** Adds the viewer's unreadCount (in the same statement: no query per chat). */
  unreadCount?: boolean;
}

const lastMessageIdSql = sql<number | null>`(select max(m.id) from messages m where m.chat_id = ${chats.id})`.mapWith((v) =>
  v === null ? null : Number(v),
);

/**
 * Messages by others, not deleted, after the newest one the viewer read or wrote: reading a
 * message reads everything before it, so a client marks only the newest one it shows.
 */
const unreadCountSql = (viewerId: number) => sql<number>`(select count(*) from messages u
  where u.chat_id = ${chats.id} and u.author_id <> ${viewerId} and u.deleted_at is null
    and u.id > greatest(
      coalesce((select max(rm.id) from messages rm where rm.chat_id = ${chats.id}
        and exists (select 1 from read_marks r where r.message_id = rm.id and r.user_id = ${viewerId})), 0),
      coalesce((select max(o.id) from messages o where o.chat_id = ${chats.id} and o.author_id = ${viewerId}), 0)))`;

/**
 * ChatInfo of the chats matching `where`, as seen by `viewerId` (their per-member flags):
 * one statement for the chats (owner, members, images aggregated), one for last messages.
 */
export async function loadChats(
  db: Executor,
  viewerId: number,
  where: SQL | undefined,
  options: ChatViewOptions = {},
  orderByLastMessage = false,
): Promise<ChatInfo[]> {
  const rows = await db
    .select({
      chat: chats,
      member: chatMembers,
      owner: { id: owner.id, name: owner.name, username: owner.username, createdAt: owner.createdAt },
      ownerPhotos: photosJson(owner.id),
      lastMessageId: lastMessageIdSql,
      allUsers: options.allUsers ? membersJson(chats.id) : sql`null`,
      blockedUsers: options.blockedUsers ? membersJson(chats.id, 'cm.is_user_blocked') : sql`null`,
      unreadCount: options.unreadCount ? unreadCountSql(viewerId) : sql`null`,
      images: options.images
        ? sql`coalesce((select json_agg(${sql.raw(MEDIA_JSON)} order by p.created_at desc, p.id desc) from media p where p.image_of_chat_id = ${chats.id}), '[]'::json)`
        : sql`null`,
    })
    .from(chats)
    .innerJoin(chatMembers, and(eq(chatMembers.chatId, chats.id), eq(chatMembers.userId, viewerId)))
    .leftJoin(owner, eq(owner.id, chats.ownerId))
    .where(where)
    .orderBy(orderByLastMessage ? sql`${lastMessageIdSql} desc nulls last` : desc(chats.createdAt));

  const lastIds = options.lastMessage ? rows.map((row) => row.lastMessageId).filter((id): id is number => id !== null) : [];
  const lastMessages = new Map((lastIds.length ? await loadMessages(db, inArray(messages.id, lastIds)) : []).map((m) => [m.id, m]));

  return rows.map((row) => {
    const chat = row.chat;
    const info: ChatInfo = {
      id: chat.id,
      isPersonal: chat.isPersonal,
      createdAt: iso(chat.createdAt)!,
      updatedAt: iso(chat.updatedAt)!,
      isMuted: row.member.isMuted,
      isArchived: row.member.isArchived,
      isBlocked: row.member.isChatBlocked,
      isRemovedOnDevice: row.member.isRemovedOnDevice,
    };
    if (chat.title !== null) info.title = chat.title;
    if (chat.description !== null) info.description = chat.description;
    if (chat.settings !== null) info.settings = chat.settings;
    if (row.owner) info.owner = userFromJson({ ...row.owner, createdAt: iso(row.owner.createdAt) ?? null, photos: parseJson(row.ownerPhotos) });
    if (options.allUsers) info.allUsers = usersFromJson(row.allUsers);
    if (options.blockedUsers) info.blockedUsers = usersFromJson(row.blockedUsers);
    if (options.images) {
      const images = parseJson<MediaJson[]>(row.images);
      if (images.length) info.images = images.map(mediaFromJson);
    }
    if (options.unreadCount) info.unreadCount = Number(row.unreadCount ?? 0);
    const last = row.lastMessageId !== null ? lastMessages.get(row.lastMessageId) : undefined;
    if (last) info.lastMessage = last;
    return info;
  });
}

export async function loadChat(db: Executor, viewerId: number, chatId: string, options: ChatViewOptions = {}): Promise<ChatInfo> {
  const [chat] = await loadChats(db, viewerId, eq(chats.id, chatId), options);
  return chat;
}

/** The chat as broadcast to every member: without the viewer's own flags. */
export function sharedChatInfo(chat: ChatInfo): ChatInfo {
  const { isMuted: _m, isArchived: _a, isBlocked: _b, isRemovedOnDevice: _r, ...shared } = chat;
  return shared;
}
