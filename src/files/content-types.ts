// What a stored file may be to a browser: the few passive types served inline (anything
// else is a download), and whether an upload's bytes are the image its type declares.
/** Extensions served inline, with their Content-Type: raster images, audio/video, PDF. */
const INLINE_TYPES: ReadonlyMap<string, string> = new Map([
  ['png', 'image/png'],
  ['jpg', 'image/jpeg'],
  ['jpeg', 'image/jpeg'],
  ['gif', 'image/gif'],
  ['webp', 'image/webp'],
  ['avif', 'image/avif'],
  ['mp4', 'video/mp4'],
  ['webm', 'video/webm'],
  ['ogg', 'audio/ogg'],
  ['mp3', 'audio/mpeg'],
  ['m4a', 'audio/mp4'],
  ['wav', 'audio/wav'],
  ['pdf', 'application/pdf'],
]);

/** The Content-Type to serve a stored file with inline; undefined means "download only". */
export function inlineContentType(extension: string): string | undefined {
  return INLINE_TYPES.get(extension.toLowerCase());
}

/** Declared image types whose bytes are checked, with the formats file-type may name for them. */
const IMAGE_FORMATS: Readonly<Record<string, readonly string[]>> = {
  png: ['png', 'apng'],
  jpg: ['jpg'],
  gif: ['gif'],
  webp: ['webp'],
  avif: ['avif'],
};

/**
 * False when `fileType` is an image type and the file's magic bytes are not that image
 * (HTML sent as image/png). Other types are not checked: they are downloads, or (audio,
 * video, PDF) served with nosniff, so a browser never takes them for a page.
 */
export async function bytesMatchDeclaredType(file: string, fileType: string): Promise<boolean> {
  const formats = IMAGE_FORMATS[fileType];
  if (!formats) return true;
  // Loaded on the first image upload, not at start-up (cold start).
  const { fileTypeFromFile } = await import('file-type');
  const sniffed = await fileTypeFromFile(file).catch(() => undefined);
  return sniffed !== undefined && formats.includes(sniffed.ext);
}
