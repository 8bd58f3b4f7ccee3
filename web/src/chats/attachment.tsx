// An attachment: an image shows a placeholder until its preview is made (a moment after the
// upload) and then the preview; other files a download link.
import { useEffect, useState } from 'preact/hooks';
import { ImageViewer } from './image-viewer.tsx';
import { fileUrl, formatSize, IMAGE_TYPES, previewUrl, type MediaInfo } from '../ui/api.ts';

/** Previews take a moment after the upload: asking at once would only get 404s. */
const FIRST_TRY_MS = 2000;

export function Attachment({ media, sentAt }: { media: MediaInfo; sentAt: string }) {
  const fresh = Date.now() - Date.parse(sentAt) < 10_000;
  const [attempt, setAttempt] = useState(fresh ? -1 : 0);
  const [ready, setReady] = useState(false);
  const [viewing, setViewing] = useState(false);
  useEffect(() => {
    if (attempt !== -1) return;
    const timer = setTimeout(() => setAttempt(0), FIRST_TRY_MS);
    return () => clearTimeout(timer);
  }, [attempt]);
  const isImage = IMAGE_TYPES.has(media.fileType.toLowerCase());
  if (!isImage)
    return (
      <a class="file" href={fileUrl(media)} download>
        Download file ({media.fileType.toUpperCase()}, {formatSize(media.fileSize)})
      </a>
    );
  const gaveUp = attempt > 8;
  const label = `Image (${media.fileType.toUpperCase()}, ${formatSize(media.fileSize)})`;
  return (
    <>
    <a
      class="image"
      href={fileUrl(media)}
      target="_blank"
      rel="noopener"
      aria-label={`Open ${label}`}
      onClick={(event) => {
        // A modified click still opens the raw file in a new tab, as links do.
        if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        setViewing(true);
      }}
    >
      {!ready && <span class="placeholder-image">{gaveUp ? 'Open image' : 'Preparing preview…'}</span>}
      {!gaveUp && attempt >= 0 && (
        <img
          key={attempt}
          src={`${previewUrl(media)}${attempt ? `?try=${attempt}` : ''}`}
          alt={`Image preview (${media.fileType.toUpperCase()}, ${formatSize(media.fileSize)})`}
          width={media.previewWidth}
          height={media.previewHeight}
          class={ready ? '' : 'loading'}
          onLoad={() => setReady(true)}
          onError={() => setTimeout(() => setAttempt((n) => n + 1), 500 * 2 ** Math.min(attempt, 4))}
        />
      )}
    </a>
    {viewing && <ImageViewer src={fileUrl(media)} label={label} onClose={() => setViewing(false)} />}
    </>
  );
}
