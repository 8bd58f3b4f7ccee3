// Messages: posting (localId dedup on the unique constraint), history, edit, soft delete,
// read marks, clearing a chat, and `notify` events that are never stored.
import { and, eq, inArray, notInArray, sql } from 'drizzle-orm';
import type { AuthContext } from '../auth/sessions.ts';
import { queryRows, type Executor, type Transaction } from '../db/client.ts';
import { chatMembers, chats, media, messages, readMarks, uploads } from '../db/schema/index.ts';
import { badRequest, conflict, forbidden, notFound, type ApiError } from '../http/errors.ts';
import type { Kernel } from '../kernel.ts';
import { historyPage, loadMessage, newMessageFromJson, newMessageJson, parseJson, userJson, type MessageInfo, type NewMessageJson } from './chat-views.ts';
import { chatAccess, requireActiveMember, requireMember, type Access } from './chats.ts';
import { chatRecipients, publishChatEvent } from './events.ts';

export const MAX_TEXT_LENGTH = 25_000;
/** Request body limit of message POST/PUT. */
export const MESSAGE_BODY_LIMIT = 100 * 1024;

export interface AttachmentInput {
  id: string;
  previewWidth?: number;
  previewHeight?: number;
  duration?: number;
}

const textLength = (text: string) => [...text].length;

/** In a personal chat, the other participant blocking the chat silences it for the caller. */
async function requireNotBlockedByPeer(db: Executor, access: Access, userId: number): Promise<void> {
  if (!access.chat.isPersonal) return;
  const [peer] = await db
    .select({ userId: chatMembers.userId })
    .from(chatMembers)
    .where(and(eq(chatMembers.chatId, access.chat.id), sql`${chatMembers.userId} <> ${userId}`, eq(chatMembers.isChatBlocked, true)))
    .limit(1);
  if (peer) throw forbidden('The other participant blocked this chat');
}

/**
 * Attaches the caller's uploads to a message in the given order. A file already in use
 * elsewhere (a photo, a chat image, another message) is refused.
 */
async function attach(tx: Transaction, ownerId: number, messageId: number, attachments: AttachmentInput[]): Promise<void> {
  if (attachments.length === 0) return;
  const ids = attachments.map((a) => a.id);
  if (new Set(ids).size !== ids.length) throw badRequest('The same file is attached twice');
  const found = await tx.select().from(uploads).where(inArray(uploads.name, ids));
  const byName = new Map(found.map((row) => [row.name, row]));
  for (const id of ids) {
    const upload = byName.get(id);
    if (!upload) throw badRequest(`No uploaded file ${id}; upload it first`);
    if (upload.ownerId !== ownerId) throw forbidden('An attachment was uploaded by another user');
  }
  const attached = await tx
    .insert(media)
    .values(
      attachments.map((a, position) => {
        const upload = byName.get(a.id)!;
        return {
          id: a.id,
          ownerId,
          fileType: upload.fileType,
          fileSize: upload.size,
          previewWidth: a.previewWidth ?? 300,
          previewHeight: a.previewHeight ?? 200,
          duration: a.duration,
          messageId,
          position,
          uploadedAt: upload.createdAt,
        };
      }),
    )
    .onConflictDoUpdate({
      target: media.id,
      set: { messageId, position: sql`excluded.position`, previewWidth: sql`excluded.preview_width`, previewHeight: sql`excluded.preview_height`, duration: sql`excluded.duration` },
      // Only a free attachment of the caller's, or one already on this message, is (re)used.
      setWhere: sql`${media.ownerId} = ${ownerId} and ${media.photoOfUserId} is null and ${media.imageOfChatId} is null and (${media.messageId} is null or ${media.messageId} = ${messageId})`,
    })
    .returning({ id: media.id });
  if (attached.length !== attachments.length) throw badRequest('An attachment is already in use elsewhere');
}

/** A history page as the JSON array text of MessageInfo the API answers with. */
export async function listMessagesJson(k: Kernel, auth: AuthContext, chatId: string, count: number, before?: number): Promise<string> {
  await k.membership.requireActiveMember(k.db, chatId, auth.user.id);
  return k.history.page(chatId, count, before, () => historyPage(k.db, chatId, count, before));
}

export interface NewMessage {
  localId: string;
  text?: string;
  language?: string;
  isVisible?: boolean;
  replyTo?: number;
  attachments?: AttachmentInput[];
}

interface PostOutcome {
  is_member: boolean;
  is_user_blocked: boolean;
  is_personal: boolean;
  peer_blocked: boolean;
  reply_ok: boolean;
  /** Null when nothing was inserted (refused, or the localId exists). */
  message: NewMessageJson | string | null;
  author: unknown;
  recipients: number[] | string;
  /** Some recipient has a web session with a push subscription in an unmuted chat. */
  may_push: boolean;
}

/**
 * One statement checks the caller's access, inserts the message when allowed, shows the
 * chat again to members who removed it, and returns the recipients: no lock is taken but
 * the unique (chat_id, local_id) index's, so posts to one chat commit in parallel (npm
 * run bench, post message). A chat's last message is derived from messages, not stored.
 */
function postStatement(chatId: string, me: number, input: NewMessage) {
  return sql`
    with input as (
      select ${chatId}::uuid as chat_id, ${me}::int as me, ${input.localId}::text as local_id, ${input.text ?? ''}::text as text,
        ${input.language ?? null}::text as language, ${input.isVisible ?? true}::boolean as is_visible, ${input.replyTo ?? null}::bigint as reply_to
    ), access as (
      select c.is_personal, m.user_id is not null as is_member, coalesce(m.is_user_blocked, false) as is_user_blocked,
        exists (select 1 from chat_members p where p.chat_id = c.id and p.user_id <> input.me and p.is_chat_blocked) as peer_blocked,
        (input.reply_to is null or exists (select 1 from messages r where r.id = input.reply_to and r.chat_id = c.id)) as reply_ok
      from input join chats c on c.id = input.chat_id
      left join chat_members m on m.chat_id = c.id and m.user_id = input.me
    ), inserted as (
      insert into messages (chat_id, author_id, local_id, text, language, is_visible, reply_to_id)
      select chat_id, me, local_id, text, language, is_visible, reply_to
      from input, access
      where is_member and not is_user_blocked and not (is_personal and peer_blocked) and reply_ok
      on conflict (chat_id, local_id) do nothing
      returning *
    ), shown as (
      -- The author sees the chat again; so does every member who has not blocked it.
      -- Only rows whose flags change are written: a big chat must not rewrite every member.
      update chat_members set is_removed_on_device = false, is_archived = is_archived and user_id <> input.me
      from input
      where chat_members.chat_id = input.chat_id and exists (select 1 from inserted)
        and (user_id = input.me or not is_chat_blocked) and (is_removed_on_device or (user_id = input.me and is_archived))
    )
    select access.*,
      case when inserted.id is null then null else ${newMessageJson('inserted')} end as message,
      ${userJson(me)} as author,
      (select coalesce(json_agg(r.user_id), '[]'::json) from chat_members r, input
        where r.chat_id = input.chat_id and not r.is_user_blocked and not r.is_chat_blocked) as recipients,
      exists (select 1 from input, chat_members r join device_sessions s on s.user_id = r.user_id
        where r.chat_id = input.chat_id and not r.is_user_blocked and not r.is_chat_blocked and not r.is_muted
          and s.transport = 'web' and s.device_token is not null) as may_push
    from access left join inserted on true`;
}

/** Why a post inserted nothing, as the error the client gets (none: the localId exists). */
function refusal(outcome: PostOutcome | undefined): ApiError | undefined {
  if (!outcome) return notFound('Chat not found');
  if (!outcome.is_member) return forbidden('You are not a member of this chat');
  if (outcome.is_user_blocked) return forbidden('You are blocked in this chat');
  if (outcome.is_personal && outcome.peer_blocked) return forbidden('The other participant blocked this chat');
  if (!outcome.reply_ok) return badRequest('replyTo is not a message of this chat');
  return undefined;
}

export async function postMessage(k: Kernel, auth: AuthContext, chatId: string, input: NewMessage): Promise<MessageInfo> {
  const me = auth.user.id;
  const attachments = input.attachments ?? [];
  if (input.text === undefined && attachments.length === 0) throw badRequest('A message needs text or attachments');
  if (input.localId.length < 36) throw badRequest('localId must be at least 36 characters');
  if (!input.text && attachments.length === 0) throw badRequest('The message text is empty');
  if (input.text && textLength(input.text) > MAX_TEXT_LENGTH) throw badRequest(`The text is longer than ${MAX_TEXT_LENGTH} characters`);

  const post = async (db: Executor) => {
    const [outcome] = await queryRows<PostOutcome>(db, postStatement(chatId, me, input));
    const refused = refusal(outcome);
    if (refused) throw refused;
    return { outcome, inserted: parseJson<NewMessageJson | null>(outcome.message) };
  };
  // Attachments join the insert in one transaction; a plain post is a single statement.
  const { outcome, message } =
    attachments.length === 0
      ? await post(k.db).then(({ outcome, inserted }) => ({ outcome, message: inserted && newMessageFromJson(inserted, outcome.author) }))
      : await k.db.transaction(async (tx) => {
          const { outcome, inserted } = await post(tx);
          if (!inserted) return { outcome, message: null };
          await attach(tx, me, Number(inserted.id), attachments);
          return { outcome, message: await loadMessage(tx, Number(inserted.id)) };
        });

  if (!message) {
    // The localId exists: the same author gets the first message back, anyone else a conflict.
    const [existing] = await k.db
      .select({ id: messages.id, authorId: messages.authorId })
      .from(messages)
      .where(and(eq(messages.chatId, chatId), eq(messages.localId, input.localId)))
      .limit(1);
    if (!existing || existing.authorId !== me) throw conflict('This localId is taken by another message');
    return loadMessage(k.db, existing.id);
  }
  await publishChatEvent(k, {
    chatId,
    userIds: parseJson<number[]>(outcome.recipients),
    event: 'message',
    actorId: me,
    payload: message,
    push: outcome.may_push,
  });
  return message;
}

export interface MessageChange {
  text?: string;
  isVisible?: boolean;
  fileExists?: boolean;
  previewExists?: boolean;
  attachments?: AttachmentInput[];
}

async function messageOfChat(db: Executor, chatId: string, messageId: number) {
  const [message] = await db
    .select()
    .from(messages)
    .where(and(eq(messages.id, messageId), eq(messages.chatId, chatId)))
    .limit(1)
    .for('update');
  return message;
}

export async function editMessage(k: Kernel, auth: AuthContext, chatId: string, messageId: number, change: MessageChange): Promise<MessageInfo> {
  const me = auth.user.id;
  const { message, recipients } = await k.db.transaction(async (tx) => {
    const member = requireMember(await chatAccess(tx, chatId, me));
    const row = await messageOfChat(tx, chatId, messageId);
    if (!row || row.authorId !== me) throw forbidden('Only the author edits a message');
    if (member.isUserBlocked) throw forbidden('You are blocked in this chat');
    if (row.deletedAt) throw badRequest('This message was deleted');
    if (change.text !== undefined && textLength(change.text) > MAX_TEXT_LENGTH) throw badRequest(`The text is longer than ${MAX_TEXT_LENGTH} characters`);
    const now = new Date();
    const values: Partial<typeof messages.$inferInsert> = { updatedAt: now };
    if (change.text !== undefined && change.text !== row.text) {
      values.text = change.text;
      values.editedAt = now;
    }
    // Visibility only goes one way: a hidden message can be shown.
    if (change.isVisible === true && !row.isVisible) values.isVisible = true;
    if (change.attachments !== undefined) {
      const keep = change.attachments.map((a) => a.id);
      await tx
        .update(media)
        .set({ messageId: null, position: null })
        .where(and(eq(media.messageId, messageId), keep.length ? notInArray(media.id, keep) : undefined));
      await attach(tx, me, messageId, change.attachments);
    }
    const text = values.text ?? row.text;
    if (text === '') {
      const [any] = await tx.select({ id: media.id }).from(media).where(eq(media.messageId, messageId)).limit(1);
      if (!any) throw badRequest('A message needs text or attachments');
    }
    await tx.update(messages).set(values).where(eq(messages.id, messageId));
    return { message: await loadMessage(tx, messageId), recipients: await chatRecipients(tx, chatId) };
  });
  await publishChatEvent(k, { chatId, userIds: recipients, event: 'messageUpdate', actorId: me, payload: message });
  return message;
}

/** Soft delete by the author (even one blocked in the chat): the text goes, the row stays. */
export async function deleteMessage(k: Kernel, auth: AuthContext, chatId: string, messageId: number): Promise<MessageInfo> {
  const me = auth.user.id;
  const { message, recipients } = await k.db.transaction(async (tx) => {
    requireMember(await chatAccess(tx, chatId, me));
    const row = await messageOfChat(tx, chatId, messageId);
    if (!row) throw notFound('Message not found');
    if (row.authorId !== me) throw forbidden('Only the author deletes a message');
    if (row.deletedAt) return { message: await loadMessage(tx, messageId), recipients: undefined };
    const now = new Date();
    await tx.update(messages).set({ text: '', editedAt: now, deletedAt: now, updatedAt: now, replyToId: null }).where(eq(messages.id, messageId));
    await tx.update(media).set({ messageId: null, position: null }).where(eq(media.messageId, messageId));
    return { message: await loadMessage(tx, messageId), recipients: await chatRecipients(tx, chatId) };
  });
  if (recipients) await publishChatEvent(k, { chatId, userIds: recipients, event: 'messageUpdate', actorId: me, payload: message });
  return message;
}

export async function markRead(k: Kernel, auth: AuthContext, chatId: string, messageId: number): Promise<MessageInfo> {
  const me = auth.user.id;
  const { message, recipients } = await k.db.transaction(async (tx) => {
    requireMember(await chatAccess(tx, chatId, me));
    const [row] = await tx
      .select({ id: messages.id })
      .from(messages)
      .where(and(eq(messages.id, messageId), eq(messages.chatId, chatId)))
      .limit(1);
    if (!row) throw notFound('Message not found');
    const added = await tx.insert(readMarks).values({ messageId, userId: me }).onConflictDoNothing().returning({ id: readMarks.id });
    return { message: await loadMessage(tx, messageId), recipients: added.length ? await chatRecipients(tx, chatId) : undefined };
  });
  if (recipients) await publishChatEvent(k, { chatId, userIds: recipients, event: 'messageRead', actorId: me, payload: message });
  return message;
}

/** Deletes every message; attachments stay among their owners' media. */
export async function clearChat(k: Kernel, auth: AuthContext, chatId: string): Promise<void> {
  const me = auth.user.id;
  const recipients = await k.db.transaction(async (tx) => {
    const access = await chatAccess(tx, chatId, me, true);
    const member = requireMember(access);
    if (!access.chat.isPersonal && member.role !== 'owner') throw forbidden('Only the owner clears a group chat');
    await tx
      .update(media)
      .set({ messageId: null, position: null })
      .where(sql`${media.messageId} in (select m.id from messages m where m.chat_id = ${chatId})`);
    await tx.delete(messages).where(eq(messages.chatId, chatId));
    await tx.update(chats).set({ updatedAt: new Date() }).where(eq(chats.id, chatId));
    return chatRecipients(tx, chatId);
  });
  await publishChatEvent(k, { chatId, userIds: recipients, event: 'chatCleared', actorId: me, payload: { chatId } });
}

export interface Notice {
  name: string;
  text?: string;
  /** Base64 of JSON bytes. */
  data?: string;
  realm?: 'webSocket' | 'push' | 'all';
}

function decodeData(data: string): unknown {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(data)) throw badRequest('data must be base64 of JSON');
  try {
    return JSON.parse(Buffer.from(data, 'base64').toString('utf8'));
  } catch {
    throw badRequest('data must be base64 of JSON');
  }
}

export async function notify(k: Kernel, auth: AuthContext, chatId: string, notice: Notice): Promise<void> {
  // chatId: a client in several chats knows which one the notice (typing …) is about.
  const payload: Record<string, unknown> = { chatId, name: notice.name };
  if (notice.text !== undefined) payload.text = notice.text;
  if (notice.data !== undefined) payload.data = decodeData(notice.data);
  const access = await chatAccess(k.db, chatId, auth.user.id);
  requireActiveMember(access);
  await requireNotBlockedByPeer(k.db, access, auth.user.id);
  const recipients = await chatRecipients(k.db, chatId);
  const realm = notice.realm ?? 'webSocket';
  await publishChatEvent(k, {
    chatId,
    userIds: recipients,
    event: 'auxiliary',
    actorId: auth.user.id,
    payload,
    push: realm !== 'webSocket',
    webSocket: realm !== 'push',
  });
}
