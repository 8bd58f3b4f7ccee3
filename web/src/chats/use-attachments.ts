// Attaching a file to a chat from the file picker, a drop on the messages or a paste into
// the composer: one upload at a time, with progress; Cancel aborts it and nothing is sent.
import { useState } from 'preact/hooks';
import type { MediaInfo } from '../ui/api.ts';
import { CancelledUpload, fileOf, startUpload } from './upload.ts';

export interface UploadState {
  name: string;
  fraction: number;
  cancel: () => void;
}

/** `send` posts the uploaded file (with the draft as its text); failures other than Cancel go to `fail`. */
export function useAttachments(send: (media: MediaInfo) => Promise<void>, fail: (failure: unknown) => void) {
  const [upload, setUpload] = useState<UploadState>();
  const [dragging, setDragging] = useState(false);

  const uploadAndSend = async (file: File) => {
    if (upload) return;
    const started = startUpload(file, (fraction) => setUpload((current) => current && { ...current, fraction }));
    setUpload({ name: file.name, fraction: 0, cancel: started.cancel });
    try {
      const { media } = await started.done;
      await send(media as MediaInfo);
    } catch (failure) {
      if (!(failure instanceof CancelledUpload)) fail(failure);
    } finally {
      setUpload(undefined);
    }
  };

  return {
    upload,
    dragging,
    onPicked: (event: Event) => {
      const input = event.currentTarget as HTMLInputElement;
      const file = input.files?.[0];
      input.value = '';
      if (file) void uploadAndSend(file);
    },
    dropZone: {
      onDragOver: (event: DragEvent) => {
        if (!event.dataTransfer?.types.includes('Files')) return;
        event.preventDefault();
        setDragging(true);
      },
      onDragLeave: (event: DragEvent) => event.currentTarget === event.target && setDragging(false),
      onDrop: (event: DragEvent) => {
        event.preventDefault();
        setDragging(false);
        const file = fileOf(event.dataTransfer);
        if (file) void uploadAndSend(file);
      },
      onPaste: (event: ClipboardEvent) => {
        const file = fileOf(event.clipboardData);
        if (!file) return; // plain text: the textarea's own paste
        event.preventDefault();
        void uploadAndSend(file);
      },
    },
  };
}
