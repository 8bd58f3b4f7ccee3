// Uploading and deleting files: the bytes go to the FileStore, ownership to the uploads table.
import { and, eq, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { media, uploads } from '../db/schema/index.ts';
import { badRequest, conflict, forbidden } from '../http/errors.ts';
import type { Kernel } from '../kernel.ts';
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

/** Stores the file and answers its name with extension. Re-uploading one's own name replaces it. */
export async function uploadFile(k: Kernel, request: UploadRequest, afterUpload?: AfterUpload): Promise<string> {
  const fileType = fileTypeOf(request.contentType);
  if (!fileType) throw badRequest('Content-Type must name the file type, e.g. image/png or png');
  const name = request.name ?? k.files.newName();
  const { temporary, size } = await k.files.receive(request.body, k.config.uploadMaxBytes);
  try {
    const { row, replacedType } = await k.db.transaction(async (tx) => {
      const [previous] = await tx.select().from(uploads).where(eq(uploads.name, name)).for('update').limit(1);
      if (previous && previous.ownerId !== request.ownerId) throw forbidden('This file name belongs to another user');
      const [row] = await tx
        .insert(uploads)
        .values({ name, fileType, size, ownerId: request.ownerId })
        .onConflictDoUpdate({ target: uploads.name, set: { fileType, size, createdAt: sql`now()` } })
        .returning();
      // Renamed inside the transaction: a failed rename rolls the row back.
      await k.files.commit(temporary, name, fileType);
      return { row, replacedType: previous && previous.fileType !== fileType ? previous.fileType : undefined };
    });
    if (replacedType) await k.files.remove(name, replacedType);
    afterUpload?.(row);
    return `${name}.${fileType}`;
  } catch (error) {
    await k.files.discard(temporary);
    throw error;
  }
}

/** Deletes one of the caller's files with its previews; a name nobody owns is already gone. */
export async function deleteUpload(k: Kernel, ownerId: number, fileName: string): Promise<void> {
  const parsed = parseStoredFileName(fileName);
  if (!parsed) throw badRequest('Invalid file name');
  const [upload] = await k.db.select().from(uploads).where(eq(uploads.name, parsed.name)).limit(1);
  if (!upload) return;
  if (upload.ownerId !== ownerId) throw forbidden('This file belongs to another user');
  await k.db.delete(uploads).where(and(eq(uploads.name, parsed.name), eq(uploads.ownerId, ownerId)));
  await k.files.remove(upload.name, upload.fileType);
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
