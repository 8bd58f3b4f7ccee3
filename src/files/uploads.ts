// Uploading and deleting files: the bytes go to the FileStore, ownership to the uploads table.
import { and, eq, inArray, or, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { media, uploads } from '../db/schema/index.ts';
import { badRequest, conflict, forbidden } from '../http/errors.ts';
import type { Kernel } from '../kernel.ts';
import { bytesMatchDeclaredType } from './content-types.ts';
import { fileTypeOf, parseStoredFileName } from './store.ts';

export interface UploadRequest {
  ownerId: number;
  body: NodeJS.ReadableStream;
  /** The client's `File-Name`; a random UUID when absent. */
  name?: string;
  contentType?: string;
}

export type UploadRow = typeof uploads.$inferSelect;

/** Hook run after a file is stored (image previews). */
export type AfterUpload = (upload: UploadRow) => void;

/**
 * Stores the file and answers its name with extension. Re-uploading one's own name replaces
 * it; a name someone else holds is 403. The name is claimed in the database first and the
 * bytes renamed into place only by the claim's winner, under its row lock, so two users
 * racing for a new name get one winner whose bytes are the stored ones.
 */
export async function uploadFile(k: Kernel, request: UploadRequest, afterUpload?: AfterUpload): Promise<string> {
  const fileType = fileTypeOf(request.contentType);
  if (!fileType) throw badRequest('Content-Type must name the file type, e.g. image/png or png');
  const name = request.name ?? k.files.newName();
  const { temporary, size } = await k.files.receive(request.body, k.config.uploadMaxBytes);
  try {
    // An image is rendered inline: its bytes must be the image it claims to be (not HTML).
    if (!(await bytesMatchDeclaredType(temporary, fileType))) throw badRequest(`The file is not a valid ${fileType} image`);
    const row = await k.db.transaction(async (tx) => {
      const { row, previousType } = await claimName(tx, { name, fileType, size, ownerId: request.ownerId });
      // Renamed inside the transaction: a failed rename rolls the row back.
      await k.files.commit(temporary, name, fileType);
      if (previousType && previousType !== fileType) await k.files.remove(name, previousType);
      return row;
    });
    afterUpload?.(row);
    return `${name}.${fileType}`;
  } catch (error) {
    await k.files.discard(temporary);
    throw error;
  }
}

/**
 * Makes `name` the caller's upload row and holds its lock until the transaction ends. A new
 * name is inserted; an existing one (perhaps committed a moment ago by a concurrent upload)
 * is locked and must be the caller's, else 403.
 */
async function claimName(tx: Executor, claim: { name: string; fileType: string; size: number; ownerId: number }): Promise<{ row: UploadRow; previousType?: string }> {
  const { name, fileType, size, ownerId } = claim;
  // A name deleted between the two statements is tried again; a third miss is a conflict.
  for (let attempt = 0; attempt < 3; attempt++) {
    // Waits for a concurrent insert of the same name to commit, then reports the conflict.
    const [created] = await tx.insert(uploads).values(claim).onConflictDoNothing({ target: uploads.name }).returning();
    if (created) return { row: created };
    const [existing] = await tx.select().from(uploads).where(eq(uploads.name, name)).for('update').limit(1);
    if (!existing) continue;
    if (existing.ownerId !== ownerId) throw forbidden('This file name belongs to another user');
    const [row] = await tx.update(uploads).set({ fileType, size, createdAt: sql`now()` }).where(eq(uploads.name, name)).returning();
    return { row, previousType: existing.fileType };
  }
  throw conflict('This file name is being changed; try again');
}

/** Deletes one of the caller's files with its preview; a name nobody owns is already gone. */
export async function deleteUpload(k: Kernel, ownerId: number, fileName: string): Promise<void> {
  const parsed = parseStoredFileName(fileName);
  if (!parsed) throw badRequest('Invalid file name');
  await k.db.transaction(async (tx) => {
    const [upload] = await tx.select().from(uploads).where(eq(uploads.name, parsed.name)).for('update').limit(1);
    if (upload && upload.ownerId !== ownerId) throw forbidden('This file belongs to another user');
    await deleteOwnUploads(k, tx, [{ name: parsed.name, ownerId }]);
  });
}

/**
 * Deletes these uploads of their owners with their files, inside the caller's transaction:
 * the rows stay locked until it ends, so a new upload of a freed name keeps its bytes, and
 * another user's upload of the same name is never touched.
 */
export async function deleteOwnUploads(k: Kernel, tx: Executor, owned: { name: string; ownerId: number }[]): Promise<void> {
  if (owned.length === 0) return;
  const namesByOwner = new Map<number, string[]>();
  for (const { name, ownerId } of owned) namesByOwner.set(ownerId, (namesByOwner.get(ownerId) ?? []).concat(name));
  const deleted = await tx
    .delete(uploads)
    .where(or(...[...namesByOwner].map(([ownerId, names]) => and(eq(uploads.ownerId, ownerId), inArray(uploads.name, names)))))
    .returning();
  await Promise.all(deleted.map((upload) => k.files.remove(upload.name, upload.fileType)));
}

/** Deletes every upload of `ownerId` with its files (account deletion), as deleteOwnUploads does. */
export async function deleteUploadsOf(k: Kernel, tx: Executor, ownerId: number): Promise<void> {
  const deleted = await tx.delete(uploads).where(eq(uploads.ownerId, ownerId)).returning();
  await Promise.all(deleted.map((upload) => k.files.remove(upload.name, upload.fileType)));
}

/** The caller's upload of that name, undefined when there is none; 403 when it is someone else's. */
export async function ownUpload(tx: Executor, name: string, ownerId: number): Promise<UploadRow | undefined> {
  const [upload] = await tx.select().from(uploads).where(eq(uploads.name, name)).limit(1);
  if (upload && upload.ownerId !== ownerId) throw forbidden('This file was uploaded by another user');
  return upload;
}

export interface MediaPlacement {
  previewWidth?: number;
  previewHeight?: number;
  /** A profile photo of this user… */
  photoOfUserId?: number;
  /** …or an image of this chat. */
  imageOfChatId?: string;
}

/** Makes an upload a media resource (MediaInfo); a file serves one purpose at a time (409). */
export async function insertMediaOf(tx: Executor, upload: UploadRow, placement: MediaPlacement): Promise<void> {
  const inserted = await tx
    .insert(media)
    .values({
      id: upload.name,
      ownerId: upload.ownerId,
      fileType: upload.fileType,
      fileSize: upload.size,
      previewWidth: placement.previewWidth ?? 100,
      previewHeight: placement.previewHeight ?? 100,
      photoOfUserId: placement.photoOfUserId,
      imageOfChatId: placement.imageOfChatId,
      uploadedAt: upload.createdAt,
    })
    .onConflictDoNothing()
    .returning({ id: media.id });
  if (inserted.length === 0) throw conflict('This file is already in use');
}
