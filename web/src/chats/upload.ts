// An upload with progress and cancel: fetch reports no upload progress, XMLHttpRequest does.
// Same request as uploadFile (POST /api/uploads, the raw file, the type as Content-Type).
import type { components } from '../../../src/generated/messenger.ts';
import { ApiFailure, failure, getSession } from '../ui/api.ts';

export interface Upload {
  done: Promise<{ fileName: string; media: components['schemas']['MediaInfoInput'] }>;
  /** Aborts the request: `done` rejects with a CancelledUpload. */
  cancel: () => void;
}

export class CancelledUpload extends Error {}

export function startUpload(file: File, onProgress: (fraction: number) => void): Upload {
  const xhr = new XMLHttpRequest();
  const extension = /\.([A-Za-z0-9]{1,10})$/.exec(file.name)?.[1]?.toLowerCase();
  // The server names the file by this: `notes.txt` should stay `.txt`, not become `.plain`.
  const contentType = extension || file.type || 'bin';
  const done = new Promise<Upload['done'] extends Promise<infer T> ? T : never>((resolve, reject) => {
    xhr.open('POST', '/api/uploads');
    xhr.setRequestHeader('content-type', contentType);
    const session = getSession();
    if (session) xhr.setRequestHeader('authorization', `Bearer ${session.token}`);
    xhr.upload.onprogress = (event) => event.lengthComputable && onProgress(event.loaded / event.total);
    xhr.onabort = () => reject(new CancelledUpload('Upload cancelled.'));
    xhr.onerror = () => reject(new ApiFailure(0, 'Cannot reach the server (the upload failed).'));
    xhr.onload = () => {
      const text = xhr.responseText.trim();
      if (xhr.status < 200 || xhr.status >= 300) {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: the text itself
        }
        reject(failure(xhr.status, body));
        return;
      }
      const match = /^([^.]+)\.(\w+)$/.exec(text);
      if (!match) return reject(new ApiFailure(500, `The server stored the file under an unexpected name: ${text}`));
      resolve({ fileName: text, media: { id: match[1], fileType: match[2], fileSize: Math.max(1, file.size) } });
    };
    xhr.send(file);
  });
  return { done, cancel: () => xhr.abort() };
}

/** The first file of a drop or a paste (a pasted screenshot has no useful name: give it one). */
export function fileOf(data: DataTransfer | null): File | undefined {
  const file = data?.files?.[0];
  if (!file) return undefined;
  if (file.name && file.name !== 'image.png') return file;
  const extension = file.type.split('/')[1]?.replace('jpeg', 'jpg') ?? 'bin';
  return new File([file], `pasted-${new Date().toISOString().replace(/[:.]/g, '-')}.${extension}`, { type: file.type });
}
