// JPEG previews of uploaded images (served as `<name>-preview.jpeg`, stored in their own
// folder, longest side at most 350 px), made by sharp in a small in-process queue: never
// on the upload's request path.
import { randomUUID } from 'node:crypto';
import { rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { FileStore } from './store.ts';
import type { UploadRow } from './uploads.ts';

export const PREVIEW_MAX_SIDE = 350;
const IMAGE_TYPES = new Set(['jpg', 'jpeg', 'png', 'gif', 'webp']);
/** Uploads waiting beyond this are not previewed (logged): memory stays bounded under a burst. */
const MAX_WAITING = 1_000;

export interface PreviewLog {
  warn(object: object, message: string): void;
}

export class PreviewQueue {
  private readonly waiting: UploadRow[] = [];
  private running?: Promise<void>;
  private closed = false;

  constructor(
    private readonly files: FileStore,
    private readonly log: PreviewLog,
  ) {}

  /** The AfterUpload hook: queues an image upload and returns at once. */
  readonly enqueue = (upload: UploadRow): void => {
    if (this.closed || !IMAGE_TYPES.has(upload.fileType)) return;
    if (this.waiting.length >= MAX_WAITING) {
      this.log.warn({ name: upload.name }, 'preview queue full; no preview made');
      return;
    }
    this.waiting.push(upload);
    this.running ??= this.work().finally(() => {
      this.running = undefined;
    });
  };

  /** Resolves when every queued preview is done. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops taking uploads and waits for the queued ones. */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
  }

  private async work() {
    for (let upload = this.waiting.shift(); upload; upload = this.waiting.shift()) {
      // Yield between images: a burst of uploads never holds the event loop.
      await new Promise((resolve) => setImmediate(resolve));
      await this.makePreview(upload).catch((error) => this.log.warn({ err: error, name: upload!.name }, 'preview failed'));
    }
  }

  private async makePreview(upload: UploadRow) {
    const source = this.files.pathOf(`${upload.name}.${upload.fileType}`);
    const target = this.files.previewPathOf(upload.name);
    // Written aside and renamed: a reader never sees half a preview.
    const temporary = path.join(this.files.directory, `.${randomUUID()}.part`);
    try {
      // Loaded on the first image, not at start-up (npm run bench, cold start).
      const { default: sharp } = await import('sharp');
      await sharp(source)
        .rotate()
        .resize(PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
        .flatten({ background: '#ffffff' })
        .jpeg({ quality: 80 })
        .toFile(temporary);
      await rename(temporary, target);
    } catch (error) {
      await unlink(temporary).catch(() => {});
      throw error;
    }
  }
}
