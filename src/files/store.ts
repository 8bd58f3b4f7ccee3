// Uploaded files on disk: DATA_DIR/uploads/<name>.<type>, their previews in
// DATA_DIR/uploads/previews/<name>.jpeg (their own folder, so no upload's name is ever a
// preview's). Names are checked against a strict pattern and joined only under the folder,
// so nothing can escape it.
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, mkdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiError, badRequest } from '../http/errors.ts';

export const FILE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
export const FILE_TYPE_PATTERN = /^[a-z0-9]{1,10}$/;
const STORED_FILE_PATTERN = /^([A-Za-z0-9][A-Za-z0-9_-]{0,99})(?:\.([A-Za-z0-9]{1,10}))?$/;
/** The public address of a preview, `/uploads/<name>-preview.jpeg` (no upload is ever a .jpeg: see TYPE_ALIASES). */
const PREVIEW_URL_PATTERN = /^([A-Za-z0-9][A-Za-z0-9_-]{0,99})-preview\.jpeg$/;
const PREVIEW_FOLDER = 'previews';
const TYPE_ALIASES: Record<string, string> = { jpeg: 'jpg', quicktime: 'mov', 'svg+xml': 'svg', 'x-matroska': 'mkv', mpeg: 'mp3' };

/** `image/jpeg` → `jpg`, `video/quicktime` → `mov`, `png` → `png`; undefined when unusable. */
export function fileTypeOf(contentType: string | undefined): string | undefined {
  const mime = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (!mime) return undefined;
  const subtype = mime.includes('/') ? mime.slice(mime.indexOf('/') + 1) : mime;
  const type = TYPE_ALIASES[subtype] ?? subtype;
  return FILE_TYPE_PATTERN.test(type) ? type : undefined;
}

/** Splits `<name>.<type>` (type optional); undefined for anything else. */
export function parseStoredFileName(fileName: string): { name: string; type?: string } | undefined {
  const match = STORED_FILE_PATTERN.exec(fileName);
  return match ? { name: match[1], type: match[2]?.toLowerCase() } : undefined;
}

const exists = (file: string) => access(file).then(() => true, () => false);

export class PayloadTooLargeError extends ApiError {
  constructor(limit: number) {
    super(413, `File is larger than the limit of ${limit} bytes`);
  }
}

export class FileStore {
  readonly directory: string;

  constructor(dataDir: string) {
    this.directory = path.join(dataDir, 'uploads');
  }

  async init(): Promise<void> {
    await mkdir(path.join(this.directory, PREVIEW_FOLDER), { recursive: true });
  }

  newName(): string {
    return randomUUID();
  }

  /** The absolute path of a stored file; throws 400 for a name that is not one. */
  pathOf(fileName: string): string {
    if (!parseStoredFileName(fileName)) throw badRequest('Invalid file name');
    return path.join(this.directory, fileName);
  }

  /** Where the JPEG preview of upload `name` is written. */
  previewPathOf(name: string): string {
    if (!FILE_NAME_PATTERN.test(name)) throw badRequest('Invalid file name');
    return path.join(this.directory, PREVIEW_FOLDER, `${name}.jpeg`);
  }

  /**
   * The file a public file name (`<name>.<type>` or `<name>-preview.jpeg`) is stored in,
   * relative to the folder; undefined for a name that is not one.
   */
  async locate(fileName: string): Promise<string | undefined> {
    const preview = PREVIEW_URL_PATTERN.exec(fileName);
    if (preview) {
      const current = path.posix.join(PREVIEW_FOLDER, `${preview[1]}.jpeg`);
      // Previews made before they had their own folder stay where they were.
      return (await exists(path.join(this.directory, current))) ? current : fileName;
    }
    return parseStoredFileName(fileName)?.type ? fileName : undefined;
  }

  /**
   * Streams a body into a hidden temporary file, counting bytes; an oversized or broken
   * upload leaves nothing behind. `commit` then gives it its name.
   */
  async receive(body: NodeJS.ReadableStream, maxBytes: number): Promise<{ temporary: string; size: number }> {
    const temporary = path.join(this.directory, `.${randomUUID()}.part`);
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        callback(size > maxBytes ? new PayloadTooLargeError(maxBytes) : null, chunk);
      },
    });
    try {
      await pipeline(body, counter, createWriteStream(temporary, { flags: 'wx' }));
      return { temporary, size };
    } catch (error) {
      await this.discard(temporary);
      throw error;
    }
  }

  async commit(temporary: string, name: string, type: string): Promise<void> {
    if (!FILE_NAME_PATTERN.test(name) || !FILE_TYPE_PATTERN.test(type)) throw badRequest('Invalid file name or type');
    await rename(temporary, path.join(this.directory, `${name}.${type}`));
  }

  async discard(temporary: string): Promise<void> {
    await unlink(temporary).catch(() => {});
  }

  /**
   * Removes `<name>.<type>` and its preview; missing files are fine. Exact names only: no
   * other upload's file (say `<name>-preview.png`) is ever touched.
   */
  async remove(name: string, type: string): Promise<void> {
    if (!FILE_NAME_PATTERN.test(name) || !FILE_TYPE_PATTERN.test(type)) return;
    // `<name>-preview.jpeg` in the folder itself is an older preview: uploads are never .jpeg.
    const files = [`${name}.${type}`, path.join(PREVIEW_FOLDER, `${name}.jpeg`), `${name}-preview.jpeg`];
    await Promise.all(files.map((file) => unlink(path.join(this.directory, file)).catch(() => {})));
  }
}
