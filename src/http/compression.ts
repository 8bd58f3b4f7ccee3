// Compression of answers (@fastify/compress): brotli or gzip as the client asks, for text-like
// types only. Media (images, video, archives, application/octet-stream downloads) is already
// compressed or opaque, so it goes out as stored; the built web client has precompressed
// .br/.gz files (scripts/build-web.ts) that src/http/web-client.ts serves instead.
import type { FastifyCompressOptions } from '@fastify/compress';

/** JSON (+json), text (not event streams), XML/SVG, JavaScript and WebAssembly. No octet-stream. */
const COMPRESSIBLE = /^text\/(?!event-stream)|[/+]json(?:;|$)|[/+]xml(?:;|$)|^application\/(?:javascript|wasm)(?:;|$)/;

export const compression: FastifyCompressOptions = {
  encodings: ['br', 'gzip'],
  // Below this, the encoding costs more than it saves (the library's default, stated).
  threshold: 1024,
  customTypes: COMPRESSIBLE,
  // Request bodies are read as sent: no inflating of client uploads (a zip bomb's way in).
  globalDecompression: false,
};
