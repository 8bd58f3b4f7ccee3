// Writing: the composer (Enter sends, Shift+Enter breaks the line, a file to attach) and the
// messages still in the outbox, with Retry and Discard once a send failed.
import type { RefObject } from 'preact';
import { discard, type Pending } from './outbox.ts';

export function Composer({
  composer,
  draft,
  placeholder,
  upload,
  onDraft,
  onSend,
  onAttach,
  onEditLast,
}: {
  composer: RefObject<HTMLTextAreaElement | null>;
  draft: string;
  placeholder: string;
  upload?: { name: string; fraction: number; cancel: () => void };
  onDraft: (text: string) => void;
  onSend: (event?: Event) => void;
  onAttach: (event: Event) => void;
  /** ↑ in an empty composer: edit my last message. */
  onEditLast: () => void;
}) {
  return (
    <form class="composer" onSubmit={onSend}>
      <label class="visually-hidden" for="composer">
        Message
      </label>
      <textarea
        id="composer"
        ref={composer}
        rows={1}
        placeholder={placeholder}
        value={draft}
        onInput={(e) => onDraft(e.currentTarget.value)}
        onKeyDown={(event) => {
          if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            onSend();
          } else if (event.key === 'ArrowUp' && !draft) {
            event.preventDefault();
            onEditLast();
          }
        }}
      />
      {upload ? (
        <div class="upload-progress" role="status">
          <label for="upload-progress">Uploading {upload.name}…</label>
          <progress id="upload-progress" max={1} value={upload.fraction} />
          <button type="button" onClick={upload.cancel}>
            Cancel upload
          </button>
        </div>
      ) : (
        <label class="button attach">
          Attach a file
          <input type="file" class="visually-hidden" onChange={onAttach} />
        </label>
      )}
      <button type="submit" class="primary" disabled={!draft.trim()}>
        Send
      </button>
    </form>
  );
}

export function PendingItem({ entry, offline, onRetry }: { entry: Pending; offline: boolean; onRetry: () => void }) {
  return (
    <li class="message mine pending">
      <p class="text">{entry.text}</p>
      <div class="status-line">
        {entry.failed ? (
          <>
            <span class="failed">{entry.refused ? `Not sent: ${entry.refused.replace(/\.$/, '')}.` : `Not sent${offline ? ': you are offline' : ''}.`}</span>
            <span class="actions">
              <button type="button" class="link" onClick={onRetry}>
                Retry
              </button>
              <button type="button" class="link danger" onClick={() => discard(entry.localId)}>
                Discard
              </button>
            </span>
          </>
        ) : (
          <span>Sending…</span>
        )}
      </div>
    </li>
  );
}
