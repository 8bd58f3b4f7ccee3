// The full image in an overlay instead of the raw file in a new tab. A modal <dialog> traps
// focus and closes on Esc by itself; a click outside the image (on the backdrop) closes it too,
// and focus goes back to the image that opened it.
import { useEffect, useRef } from 'preact/hooks';

export function ImageViewer({ src, label, onClose }: { src: string; label: string; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    dialog.current?.showModal();
    return () => opener?.focus();
  }, []);
  return (
    <dialog
      ref={dialog}
      class="image-viewer"
      aria-label={label}
      onClose={onClose}
      onKeyDown={(event) => {
        // Handled here: the app's own Esc (back to the chat list) must not close the chat as well.
        if (event.key !== 'Escape') return;
        event.preventDefault();
        dialog.current?.close();
      }}
      onClick={(event) => event.target === event.currentTarget && dialog.current?.close()}
    >
      <img src={src} alt={label} />
      <div class="viewer-actions">
        <a class="button" href={src} download>
          Download
        </a>
        <button type="button" onClick={() => dialog.current?.close()} autofocus>
          Close
        </button>
      </div>
    </dialog>
  );
}
