// Chats: creation (one personal chat per pair), membership and roles, per-member flags,
// blocking, images. Every write is one transaction; events are published after commit.
import { and, asc, eq, inArray, ne, sql } from 'drizzle-orm';
import type { AuthContext } from '../auth/sessions.ts';
import type { Executor } from '../db/client.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { chatMembers, chats, media, messages, users } from '../db/schema/index.ts';
import { badRequest, forbidden, notFound } from '../http/errors.ts';
import type { Kernel } from '../kernel.ts';
import { loadChat, loadChats, sharedChatInfo, usersFromJson, usersJson, type ChatInfo, type ChatRow, type MemberRow } from './chat-views.ts';
import { chatRecipients, publishChatEvent } from './events.ts';
import type { UserInfo } from './views.ts';
import { deleteOwnUploads, insertMediaOf, ownUpload } from '../files/uploads.ts';

export const MAX_USERS_PER_CALL = 10;
const IMAGE_TYPES = new Set(['jpg', 'jpeg', 'png', 'gif', 'webp', 'heic', 'heif', 'avif', 'bmp', 'tiff']);
const LANGUAGE_CODE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;

export interface Access {
  chat: ChatRow;
  /** The caller's membership; undefined when they are not (or no longer) a member. */
  member?: MemberRow;
}

/** The chat and the caller's membership in one statement; 404 when the chat does not exist. */
export async function chatAccess(db: Executor, chatId: string, userId: number, forUpdate = false): Promise<Access> {
  const query = db
    .select({ chat: chats, member: chatMembers })
    .from(chats)
    .leftJoin(chatMembers, and(eq(chatMembers.chatId, chats.id), eq(chatMembers.userId, userId)))
    .where(eq(chats.id, chatId))
    .limit(1);
  const [row] = forUpdate ? await query.for('update', { of: chats }) : await query;
  if (!row) throw notFound('Chat not found');
  return { chat: row.chat, member: row.member ?? undefined };
}

/** A member, blocked or not. */
export function requireMember(access: Access): MemberRow {
  if (!access.member) throw forbidden('You are not a member of this chat');
  return access.member;
}

/** A member who is not blocked in the chat. */
export function requireActiveMember(access: Access): MemberRow {
  const member = requireMember(access);
  if (member.isUserBlocked) throw forbidden('You are blocked in this chat');
  return member;
}

const isManager = (member: MemberRow) => member.role === 'owner' || member.role === 'admin';
/** A personal chat with only oneself: personal notes, editable like a group. */
const isNotes = (chat: ChatRow) => chat.isPersonal && !chat.participantsKey.includes(',');
const keyOf = (ids: number[]) => [...new Set(ids)].sort((a, b) => a - b).join(',');

async function refreshParticipantsKey(db: Executor, chatId: string): Promise<void> {
  const rows = await db.select({ userId: chatMembers.userId }).from(chatMembers).where(eq(chatMembers.chatId, chatId));
  await db
    .update(chats)
    .set({ participantsKey: keyOf(rows.map((row) => row.userId)), updatedAt: new Date() })
    .where(eq(chats.id, chatId));
}

async function requireUsersExist(db: Executor, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  const found = await db.select({ id: users.id }).from(users).where(inArray(users.id, ids));
  if (found.length !== new Set(ids).size) {
    const known = new Set(found.map((row) => row.id));
    throw badRequest(`Unknown user ${ids.find((id) => !known.has(id))}`);
  }
}

// ---------------------------------------------------------------------------------------

export async function listChats(k: Kernel, auth: AuthContext, full: boolean): Promise<ChatInfo[]> {
  return loadChats(
    k.db,
    auth.user.id,
    and(
      eq(chatMembers.isRemovedOnDevice, false),
      eq(chatMembers.isUserBlocked, false),
      // A group shows from its creation; a personal chat from its first message (the reference's rule).
      sql`(not ${chats.isPersonal} or exists (select 1 from messages m where m.chat_id = ${chats.id}))`,
    ),
    { allUsers: full, images: full, lastMessage: true, unreadCount: true },
    true,
  );
}

export async function getChat(k: Kernel, auth: AuthContext, chatId: string): Promise<ChatInfo> {
  requireMember(await chatAccess(k.db, chatId, auth.user.id));
  return loadChat(k.db, auth.user.id, chatId, { allUsers: true, blockedUsers: true, images: true, lastMessage: true });
}

export interface NewChat {
  title?: string;
  participants: number[];
  isPersonal?: boolean;
}

export async function createChat(k: Kernel, auth: AuthContext, input: NewChat): Promise<ChatInfo> {
  const me = auth.user.id;
  const ids = [...new Set([...input.participants, me])].sort((a, b) => a - b);
  // The reference defaults to personal for two people; a chat with only yourself is personal notes.
  const isPersonal = input.isPersonal ?? ids.length <= 2;
  if (isPersonal && ids.length > 2) throw badRequest('A personal chat has at most two participants');
  const key = ids.join(',');
  const attempt = () =>
    k.db.transaction(async (tx) => {
      const [existing] = await tx
        .select({ id: chats.id })
        .from(chats)
        .innerJoin(chatMembers, and(eq(chatMembers.chatId, chats.id), eq(chatMembers.userId, me)))
        .where(and(eq(chats.participantsKey, key), eq(chats.isPersonal, isPersonal)))
        .orderBy(asc(chats.createdAt))
        .limit(1);
      if (existing) return { id: existing.id, isNew: false };
      await requireUsersExist(tx, ids);
      const [chat] = await tx
        .insert(chats)
        .values({ title: input.title, isPersonal, ownerId: me, participantsKey: key })
        .returning({ id: chats.id });
      await tx.insert(chatMembers).values(ids.map((userId) => ({ chatId: chat.id, userId, role: userId === me ? ('owner' as const) : ('member' as const) })));
      return { id: chat.id, isNew: true };
    });
  let created: { id: string; isNew: boolean };
  try {
    created = await attempt();
  } catch (error) {
    // Someone created the same personal chat at the same moment: answer theirs.
    if (!isUniqueViolation(error)) throw error;
    created = await attempt();
  }
  const chat = await loadChat(k.db, me, created.id, { allUsers: true, images: true, lastMessage: true });
  // Members learn of a new chat at once, not at its first message.
  if (created.isNew) await publishChatEvent(k, { chatId: chat.id, userIds: ids, event: 'chatUpdate', actorId: me, payload: sharedChatInfo(chat) });
  return chat;
}

export interface ChatChange {
  title?: string;
  description?: string;
  settings?: string;
}

function validateSettings(settings: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(settings);
  } catch {
    throw badRequest('settings must be a JSON object');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badRequest('settings must be a JSON object');
  const value = parsed as Record<string, unknown>;
  if ('languages' in value) {
    const languages = value.languages;
    if (!Array.isArray(languages) || languages.length === 0 || !languages.every((code) => typeof code === 'string' && LANGUAGE_CODE.test(code))) {
      throw badRequest('settings.languages must be a non-empty list of language codes');
    }
  }
  if ('language' in value && (typeof value.language !== 'string' || !LANGUAGE_CODE.test(value.language))) {
    throw badRequest('settings.language must be a language code');
  }
  if ('multilingual' in value && typeof value.multilingual !== 'boolean') throw badRequest('settings.multilingual must be a boolean');
}

export async function updateChat(k: Kernel, auth: AuthContext, chatId: string, change: ChatChange): Promise<ChatInfo> {
  if (change.settings !== undefined) validateSettings(change.settings);
  const { chat, recipients } = await k.db.transaction(async (tx) => {
    const access = await chatAccess(tx, chatId, auth.user.id, true);
    requireActiveMember(access);
    if (access.chat.isPersonal && !isNotes(access.chat)) throw badRequest('A personal chat has no title, description or settings');
    await tx
      .update(chats)
      .set({ title: change.title, description: change.description, settings: change.settings, updatedAt: new Date() })
      .where(eq(chats.id, chatId));
    return { chat: await loadChat(tx, auth.user.id, chatId, { images: true }), recipients: await chatRecipients(tx, chatId) };
  });
  await publishChatEvent(k, { chatId, userIds: recipients, event: 'chatUpdate', actorId: auth.user.id, payload: sharedChatInfo(chat) });
  return chat;
}

export interface MemberSettings {
  isMuted?: boolean;
  isArchived?: boolean;
  isRemovedOnDevice?: boolean;
}

export async function updateSettings(k: Kernel, auth: AuthContext, chatId: string, settings: MemberSettings): Promise<ChatInfo> {
  return k.db.transaction(async (tx) => {
    requireMember(await chatAccess(tx, chatId, auth.user.id));
    if (settings.isMuted !== undefined || settings.isArchived !== undefined || settings.isRemovedOnDevice !== undefined) {
      await tx
        .update(chatMembers)
        .set({ isMuted: settings.isMuted, isArchived: settings.isArchived, isRemovedOnDevice: settings.isRemovedOnDevice })
        .where(and(eq(chatMembers.chatId, chatId), eq(chatMembers.userId, auth.user.id)));
    }
    return loadChat(tx, auth.user.id, chatId, { images: true });
  });
}

// ---------------------------------------------------------------------------------------
// Images

export interface ImageInput {
  id: string;
  previewWidth?: number;
  previewHeight?: number;
}

/** A new group photo: every member hears chatUpdate with the chat's images. */
export async function addImage(k: Kernel, auth: AuthContext, chatId: string, image: ImageInput): Promise<ChatInfo> {
  const { chat, recipients } = await k.db.transaction(async (tx) => {
    const access = await chatAccess(tx, chatId, auth.user.id);
    const member = requireActiveMember(access);
    if (!isManager(member)) throw forbidden('Only the chat owner changes its images');
    if (access.chat.isPersonal && !isNotes(access.chat)) throw badRequest('A personal chat has no images');
    const upload = await ownUpload(tx, image.id, auth.user.id);
    if (!upload) throw badRequest('No uploaded file with this id; upload it first');
    if (!IMAGE_TYPES.has(upload.fileType)) throw badRequest(`A chat image must be an image, not ${upload.fileType}`);
    await insertMediaOf(tx, upload, { ...image, imageOfChatId: chatId });
    await tx.update(chats).set({ updatedAt: new Date() }).where(eq(chats.id, chatId));
    return { chat: await loadChat(tx, auth.user.id, chatId, { images: true }), recipients: await chatRecipients(tx, chatId) };
  });
  await publishChatEvent(k, { chatId, userIds: recipients, event: 'chatUpdate', actorId: auth.user.id, payload: sharedChatInfo(chat) });
  return chat;
}

/** A group photo removed: every member hears chatUpdate with the images left. */
export async function deleteImage(k: Kernel, auth: AuthContext, chatId: string, imageId: string): Promise<void> {
  const { chat, recipients } = await k.db.transaction(async (tx) => {
    const member = requireMember(await chatAccess(tx, chatId, auth.user.id));
    const [image] = await tx
      .select()
      .from(media)
      .where(and(eq(media.id, imageId), eq(media.imageOfChatId, chatId)))
      .limit(1);
    if (!image) throw notFound('Image not found');
    if (!isManager(member) || member.isUserBlocked) throw forbidden('Only the chat owner changes its images');
    await tx.delete(media).where(eq(media.id, imageId));
    // Only its uploader's file goes (another user may hold the name by now).
    await deleteOwnUploads(k, tx, [{ name: imageId, ownerId: image.ownerId }]);
    await tx.update(chats).set({ updatedAt: new Date() }).where(eq(chats.id, chatId));
    return { chat: await loadChat(tx, auth.user.id, chatId, { images: true }), recipients: await chatRecipients(tx, chatId) };
  });
  await publishChatEvent(k, { chatId, userIds: recipients, event: 'chatUpdate', actorId: auth.user.id, payload: sharedChatInfo(chat) });
}

// ---------------------------------------------------------------------------------------
// Members

async function usersById(db: Executor, ids: number[]): Promise<UserInfo[]> {
  if (ids.length === 0) return [];
  const [row] = await db.select({ users: usersJson(ids) }).from(sql`(select 1) as one`);
  return usersFromJson(row.users);
}

export async function addUsers(k: Kernel, auth: AuthContext, chatId: string, userIds: number[]): Promise<ChatInfo> {
  // New members read the chat on every process once this answers (they were outsiders there).
  const { chat, recipients } = await changingMembership(k, chatId, async () => ({ result: await addUsersInTransaction(k, auth, chatId, userIds), changed: true }));
  await publishChatEvent(k, { chatId, userIds: recipients, event: 'addedUsers', actorId: auth.user.id, payload: sharedChatInfo(chat) });
  return chat;
}

function addUsersInTransaction(k: Kernel, auth: AuthContext, chatId: string, userIds: number[]) {
  return k.db.transaction(async (tx) => {
    const access = await chatAccess(tx, chatId, auth.user.id, true);
    requireActiveMember(access);
    if (access.chat.isPersonal) throw badRequest('Users cannot be added to a personal chat');
    const current = await tx.select({ userId: chatMembers.userId }).from(chatMembers).where(eq(chatMembers.chatId, chatId));
    const members = new Set(current.map((row) => row.userId));
    const added = [...new Set(userIds)].filter((id) => !members.has(id));
    if (added.length === 0) throw badRequest('All these users are already members');
    if (added.length > MAX_USERS_PER_CALL) throw badRequest(`At most ${MAX_USERS_PER_CALL} users can be added at once`);
    await requireUsersExist(tx, added);
    await tx.insert(chatMembers).values(added.map((userId) => ({ chatId, userId })));
    await refreshParticipantsKey(tx, chatId);
    const chat = await loadChat(tx, auth.user.id, chatId, { allUsers: true, images: true });
    chat.addedUsers = await usersById(tx, added);
    return { chat, recipients: await chatRecipients(tx, chatId) };
  });
}

/**
 * Runs a write that may add, remove or block members of the chat; when it did (`changed`),
 * answers only once its membership notice is back: then every process has dropped what it
 * remembered of the chat's members (src/messenger/membership-cache.ts).
 */
async function changingMembership<T>(k: Kernel, chatId: string, write: () => Promise<{ result: T; changed: boolean }>): Promise<T> {
  const notice = k.membership.expectChange(chatId);
  try {
    const { result, changed } = await write();
    if (changed) await notice.heard;
    return result;
  } finally {
    notice.cancel();
  }
}

export async function removeUsers(k: Kernel, auth: AuthContext, chatId: string, userIds: number[]): Promise<ChatInfo> {
  if (userIds.length === 0) throw badRequest('No users to remove');
  const { chat, recipients } = await changingMembership(k, chatId, async () => {
    const outcome = await removeUsersInTransaction(k, auth, chatId, userIds);
    return { result: outcome, changed: outcome.removed.length > 0 };
  });
  await publishChatEvent(k, { chatId, userIds: recipients, event: 'removedUsers', actorId: auth.user.id, payload: sharedChatInfo(chat) });
  return chat;
}

function removeUsersInTransaction(k: Kernel, auth: AuthContext, chatId: string, userIds: number[]) {
  return k.db.transaction(async (tx) => {
    const access = await chatAccess(tx, chatId, auth.user.id, true);
    const member = requireActiveMember(access);
    if (access.chat.isPersonal) throw badRequest('Users cannot be removed from a personal chat');
    if (!isManager(member)) throw forbidden('Only the chat owner or an admin removes users');
    const targets = await tx
      .select()
      .from(chatMembers)
      .where(and(eq(chatMembers.chatId, chatId), inArray(chatMembers.userId, [...new Set(userIds)])));
    if (targets.some((target) => target.role === 'owner')) throw forbidden('The chat owner cannot be removed');
    // Who blocked the chat stays (the reference keeps their relation), so they never hear of it again.
    const removed = targets.filter((target) => !target.isChatBlocked).map((target) => target.userId);
    const recipients = await chatRecipients(tx, chatId);
    if (removed.length) {
      await tx.delete(chatMembers).where(and(eq(chatMembers.chatId, chatId), inArray(chatMembers.userId, removed)));
      await refreshParticipantsKey(tx, chatId);
    }
    const chat = await loadChat(tx, auth.user.id, chatId, { allUsers: true, images: true });
    chat.removedUsers = await usersById(tx, removed);
    return { chat, recipients, removed };
  });
}

/** Deletes the messages (with their attachments) and hides the chat on every member's devices. */
export async function deleteChat(k: Kernel, auth: AuthContext, chatId: string): Promise<void> {
  const { chat, recipients } = await k.db.transaction(async (tx) => {
    const access = await chatAccess(tx, chatId, auth.user.id, true);
    if (!access.member) throw notFound('Chat not found');
    if (!access.chat.isPersonal && access.member.role !== 'owner') throw forbidden('Only the owner deletes a group chat');
    const chat = await loadChat(tx, auth.user.id, chatId, { images: true });
    const recipients = await chatRecipients(tx, chatId);
    const attached = await tx
      .delete(media)
      .where(sql`${media.messageId} in (select m.id from messages m where m.chat_id = ${chatId})`)
      .returning({ id: media.id, ownerId: media.ownerId });
    await deleteOwnUploads(k, tx, attached.map((row) => ({ name: row.id, ownerId: row.ownerId })));
    await tx.delete(messages).where(eq(messages.chatId, chatId));
    await tx.update(chats).set({ updatedAt: new Date() }).where(eq(chats.id, chatId));
    await tx
      .update(chatMembers)
      .set({ isRemovedOnDevice: true })
      .where(and(eq(chatMembers.chatId, chatId), eq(chatMembers.isChatBlocked, false)));
    return { chat, recipients };
  });
  await publishChatEvent(k, { chatId, userIds: recipients, event: 'chatDeleted', actorId: auth.user.id, payload: sharedChatInfo(chat) });
}

/** Leaves a group chat; an owner who leaves hands the chat to the longest-standing member. */
export async function exitChat(k: Kernel, auth: AuthContext, chatId: string): Promise<void> {
  await changingMembership(k, chatId, () => exitChatInTransaction(k, auth, chatId).then((changed) => ({ result: undefined, changed })));
}

/** True when the caller left (false: a chat they blocked is only hidden). */
function exitChatInTransaction(k: Kernel, auth: AuthContext, chatId: string): Promise<boolean> {
  return k.db.transaction(async (tx) => {
    const access = await chatAccess(tx, chatId, auth.user.id, true);
    const member = requireMember(access);
    if (access.chat.isPersonal) throw badRequest('A personal chat cannot be left');
    const mine = and(eq(chatMembers.chatId, chatId), eq(chatMembers.userId, auth.user.id));
    if (member.isChatBlocked) {
      await tx.update(chatMembers).set({ isRemovedOnDevice: true }).where(mine);
      return false;
    }
    await tx.delete(chatMembers).where(mine);
    if (member.role === 'owner') {
      const [heir] = await tx
        .select({ userId: chatMembers.userId })
        .from(chatMembers)
        .where(and(eq(chatMembers.chatId, chatId), ne(chatMembers.userId, auth.user.id)))
        .orderBy(sql`${chatMembers.role} = 'admin' desc`, asc(chatMembers.joinedAt), asc(chatMembers.userId))
        .limit(1);
      if (heir) await tx.update(chatMembers).set({ role: 'owner' }).where(and(eq(chatMembers.chatId, chatId), eq(chatMembers.userId, heir.userId)));
      await tx.update(chats).set({ ownerId: heir?.userId ?? null }).where(eq(chats.id, chatId));
    }
    await refreshParticipantsKey(tx, chatId);
    return true;
  });
}

export async function setChatBlocked(k: Kernel, auth: AuthContext, chatId: string, blocked: boolean): Promise<void> {
  await k.db.transaction(async (tx) => {
    requireMember(await chatAccess(tx, chatId, auth.user.id));
    await tx
      .update(chatMembers)
      .set({ isChatBlocked: blocked })
      .where(and(eq(chatMembers.chatId, chatId), eq(chatMembers.userId, auth.user.id)));
  });
}

export async function setUserBlocked(k: Kernel, auth: AuthContext, chatId: string, userId: number, blocked: boolean): Promise<void> {
  await changingMembership(k, chatId, () => setUserBlockedInTransaction(k, auth, chatId, userId, blocked).then(() => ({ result: undefined, changed: true })));
}

function setUserBlockedInTransaction(k: Kernel, auth: AuthContext, chatId: string, userId: number, blocked: boolean): Promise<void> {
  return k.db.transaction(async (tx) => {
    const access = await chatAccess(tx, chatId, auth.user.id, true);
    const member = requireActiveMember(access);
    const [target] = await tx
      .select()
      .from(chatMembers)
      .where(and(eq(chatMembers.chatId, chatId), eq(chatMembers.userId, userId)))
      .limit(1);
    if (!target) throw notFound('This user is not a member of the chat');
    if (userId === auth.user.id) throw badRequest('You cannot block yourself');
    if (!access.chat.isPersonal) {
      if (!isManager(member)) throw forbidden('Only the chat owner or an admin blocks members');
      if (target.role === 'owner') throw forbidden('The chat owner cannot be blocked');
    }
    await tx
      .update(chatMembers)
      .set({ isUserBlocked: blocked })
      .where(and(eq(chatMembers.chatId, chatId), eq(chatMembers.userId, userId)));
  });
}

export async function blockedUsers(k: Kernel, auth: AuthContext, chatId: string): Promise<UserInfo[]> {
  requireActiveMember(await chatAccess(k.db, chatId, auth.user.id));
  const rows = await k.db
    .select({ userId: chatMembers.userId })
    .from(chatMembers)
    .where(and(eq(chatMembers.chatId, chatId), eq(chatMembers.isUserBlocked, true)));
  return usersById(
    k.db,
    rows.map((row) => row.userId),
  );
}

