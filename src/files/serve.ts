// Uploaded files at /uploads/<file> and /files/<file> (the older docs' name), by their
// unguessable names. An upload must never run in the app's origin: only passive types are
// served inline, everything else as an attachment, and every answer of these routes (304,
// 404 and range answers too) says nosniff and sandboxes the document.
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { inlineContentType } from './content-types.ts';
import type { FileStore } from './store.ts';

const SANDBOX_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "sandbox; default-src 'none'",
};

export async function uploadServing(app: FastifyInstance, { files }: { files: FileStore }) {
  // Ranges, ETag/Last-Modified, 304s and dot files as @fastify/static does them.
  await app.register(fastifyStatic, { root: files.directory, serve: false, index: false, dotfiles: 'deny', setHeaders: contentHeaders });
  for (const prefix of ['/uploads', '/files']) await app.register(servedFolder, { prefix, files });
}

async function servedFolder(app: FastifyInstance, { files }: { files: FileStore }) {
  // onSend runs after every global hook and writes the final headers, so these win over
  // the app-wide security headers (whose CSP is the web client's).
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(SANDBOX_HEADERS);
    return payload;
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: true, reason: 'No such file' }));
  app.get<{ Params: { fileName: string } }>('/:fileName', { schema: { hide: true } }, async (request, reply) => {
    // Only names of the strict pattern map to a file: no path of the client's reaches the disk.
    const stored = await files.locate(request.params.fileName);
    if (!stored) return reply.callNotFound();
    return reply.sendFile(stored);
  });
}

/** Inline with its own type when passive; otherwise a download that no browser renders. */
function contentHeaders(reply: FastifyReply, filePath: string) {
  const fileName = path.basename(filePath);
  const inline = inlineContentType(path.extname(fileName).slice(1));
  if (inline) {
    if (reply.statusCode !== 304) reply.header('content-type', inline);
    return;
  }
  if (reply.statusCode !== 304) reply.header('content-type', 'application/octet-stream');
  // Stored names are [A-Za-z0-9_-] plus an extension: safe to quote as they are.
  reply.header('content-disposition', `attachment; filename="${fileName}"`);
}
