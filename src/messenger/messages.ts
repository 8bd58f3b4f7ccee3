// Messages: posting (localId dedup on the unique constraint), history, edit, soft delete,
// read marks, clearing a chat, and `notify` events that are never stored.
import { and, eq, inArray, notInArray, sql } from 'drizzle-orm';
import type { AuthContext } from '../auth/sessions.ts';
import type { Executor, Transaction } from '../db/client.ts';
import { chatMembers, chats, media, messages, readMarks, uploads } from '../db/schema/index.ts';
import { badRequest, conflict, forbidden, notFound } from '../http/errors.ts';
import type { Kernel } from '../kernel.ts';
import { historyPage, loadMessage, type MessageInfo } from './chat-views.ts';
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

export async function listMessages(k: Kernel, auth: AuthContext, chatId: string, count: number, before?: number): Promise<MessageInfo[]> {
  requireActiveMember(await chatAccess(k.db, chatId, auth.user.id));
  return historyPage(k.db, chatId, count, before);
}

export interface NewMessage {
  localId: string;
  text?: string;
  language?: string;
  isVisible?: boolean;
  replyTo?: number;
  attachments?: AttachmentInput[];
}

export async function postMessage(k: Kernel, auth: AuthContext, chatId: string, input: NewMessage): Promise<MessageInfo> {
  const me = auth.user.id;
  const attachments = input.attachments ?? [];
  if (input.text === undefined && attachments.length === 0) throw badRequest('A message needs text or attachments');
  const result = await k.db.transaction(async (tx) => {
    const access = await chatAccess(tx, chatId, me);
    requireActiveMember(access);
    await requireNotBlockedByPeer(tx, access, me);
    if (input.localId.length < 36) throw badRequest('localId must be at least 36 characters');
    if (!input.text && attachments.length === 0) throw badRequest('The message text is empty');
    if (input.text && textLength(input.text) > MAX_TEXT_LENGTH) throw badRequest(`The text is longer than ${MAX_TEXT_LENGTH} characters`);
    if (input.replyTo !== undefined) {
      const [original] = await tx
        .select({ id: messages.id })
        .from(messages)
        .where(and(eq(messages.id, input.replyTo), eq(messages.chatId, chatId)))
        .limit(1);
      if (!original) throw badRequest('replyTo is not a message of this chat');
    }
    // The unique (chat_id, local_id) constraint decides between concurrent duplicates.
    const [inserted] = await tx
      .insert(messages)
      .values({
        chatId,
        authorId: me,
        localId: input.localId,
        text: input.text ?? '',
        language: input.language,
        isVisible: input.isVisible ?? true,
        replyToId: input.replyTo,
      })
      .onConflictDoNothing({ target: [messages.chatId, messages.localId] })
      .returning({ id: messages.id });
    if (!inserted) {
      const [existing] = await tx
        .select({ id: messages.id, authorId: messages.authorId })
        .from(messages)
        .where(and(eq(messages.chatId, chatId), eq(messages.localId, input.localId)))
        .limit(1);
      if (!existing || existing.authorId !== me) throw conflict('This localId is taken by another message');
      return { message: await loadMessage(tx, existing.id), recipients: undefined };
    }
    await attach(tx, me, inserted.id, attachments);
    const message = await loadMessage(tx, inserted.id);
    const recipients = await chatRecipients(tx, chatId);
    // The chat row lock serializes the posts of one chat until commit: take it last
    // (npm run bench, post message).
    await tx.update(chats).set({ lastMessageId: inserted.id, updatedAt: new Date() }).where(eq(chats.id, chatId));
    // The author sees the chat again; so does every member who has not blocked it. Only
    // rows whose flags change are written: a big chat must not rewrite every member per post.
    await tx
      .update(chatMembers)
      .set({ isRemovedOnDevice: false, isArchived: sql`case when ${chatMembers.userId} = ${me} then false else ${chatMembers.isArchived} end` })
      .where(
        and(
          eq(chatMembers.chatId, chatId),
          sql`(${chatMembers.userId} = ${me} or not ${chatMembers.isChatBlocked})`,
          sql`(${chatMembers.isRemovedOnDevice} or (${chatMembers.userId} = ${me} and ${chatMembers.isArchived}))`,
        ),
      );
    return { message, recipients };
  });
  if (result.recipients) {
    await publishChatEvent(k, { chatId, userIds: result.recipients, event: 'message', actorId: me, payload: result.message, push: true });
  }
  return result.message;
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
    await tx.update(chats).set({ lastMessageId: null, updatedAt: new Date() }).where(eq(chats.id, chatId));
    return chatRecipients(tx, chatId);
  });
  await publishChatEvent(k, { chatId, userIds: recipients, event: 'chatCleared', actorId: me, payload: null });
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
  const payload: Record<string, unknown> = { name: notice.name };
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
