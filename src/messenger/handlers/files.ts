// File endpoints of openapi/messenger.yaml.
import type { operations } from '../../generated/messenger.ts';
import { deleteUpload, uploadFile } from '../../files/uploads.ts';
import type { Handlers } from '../../http/openapi.ts';
import type { Kernel } from '../../kernel.ts';
import { requireAuth } from '../auth.ts';

export const UPLOAD_CONTENT_TYPE = Symbol('upload content type');

declare module 'fastify' {
  interface FastifyRequest {
    /** The client's Content-Type of an upload (the route reads the body as a raw stream). */
    [UPLOAD_CONTENT_TYPE]?: string;
  }
}

export function filesHandlers(k: Kernel): Handlers<Pick<operations, 'uploadFile' | 'deleteUpload'>> {
  return {
    uploadFile: async (request, reply) => {
      const fileName = await uploadFile(k, {
        ownerId: requireAuth(request).user.id,
        body: request.body,
        name: request.headers['file-name'],
        contentType: request[UPLOAD_CONTENT_TYPE],
      }, k.previews.enqueue);
      return reply.type('text/plain; charset=utf-8').send(fileName);
    },
    deleteUpload: async (request) => deleteUpload(k, requireAuth(request).user.id, request.params.fileName),
  };
}
