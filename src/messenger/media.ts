// The caller's media resources: attachments they posted (profile photos and chat images
// have their own endpoints).
import { and, desc, eq, isNull } from 'drizzle-orm';
import type { AuthContext } from '../auth/sessions.ts';
import { media } from '../db/schema/index.ts';
import { deleteOwnUploads } from '../files/uploads.ts';
import { forbidden } from '../http/errors.ts';
import type { Kernel } from '../kernel.ts';
import { loadMessage } from './chat-views.ts';
import { chatRecipients, publishChatEvent } from './events.ts';
import { mediaInfo, type MediaInfo } from './views.ts';

const attachmentsOf = (ownerId: number) => and(eq(media.ownerId, ownerId), isNull(media.photoOfUserId), isNull(media.imageOfChatId));

export async function recentMedia(k: Kernel, auth: AuthContext, offset: number, limit: number): Promise<MediaInfo[]> {
  const rows = await k.db
    .select()
    .from(media)
    .where(attachmentsOf(auth.user.id))
    .orderBy(desc(media.createdAt), desc(media.id))
    .offset(offset)
    .limit(limit);
  return rows.map(mediaInfo);
}

/**
 * Deletes one of the caller's attachments with its file; anything else answers 403. A message
 * that showed it changes: its chat hears messageUpdate.
 */
export async function deleteMedia(k: Kernel, auth: AuthContext, mediaId: string): Promise<void> {
  const changed = await k.db.transaction(async (tx) => {
    const [row] = await tx
      .delete(media)
      .where(and(eq(media.id, mediaId), attachmentsOf(auth.user.id)))
      .returning();
    if (!row) throw forbidden('This is not one of your media');
    await deleteOwnUploads(k, tx, [{ name: mediaId, ownerId: auth.user.id }]);
    if (row.messageId === null) return undefined;
    const message = await loadMessage(tx, row.messageId);
    return message && { message, recipients: await chatRecipients(tx, message.chatId) };
  });
  if (changed) {
    const { message, recipients } = changed;
    await publishChatEvent(k, { chatId: message.chatId, userIds: recipients, event: 'messageUpdate', actorId: auth.user.id, payload: message });
  }
}
