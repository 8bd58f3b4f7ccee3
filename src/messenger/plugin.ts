// The messenger surface under /api: its spec, its envelope `{"error": true, "reason"}`,
// and Bearer/Basic auth.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { operations } from '../generated/messenger.ts';
import specification from '../generated/messenger.spec.json' with { type: 'json' };
import { describeError } from '../http/errors.ts';
import { mountSpecification } from '../http/openapi.ts';
import type { Kernel } from '../kernel.ts';
import { messengerSecurity } from './auth.ts';
import { filesHandlers, UPLOAD_CONTENT_TYPE } from './handlers/files.ts';
import { chatsHandlers } from './handlers/chats.ts';
import { contactsHandlers } from './handlers/contacts.ts';
import { mediaHandlers } from './handlers/media.ts';
import { messagesHandlers } from './handlers/messages.ts';
import { MESSAGE_BODY_LIMIT } from './messages.ts';
import { usersHandlers } from './handlers/users.ts';
import { announcePresence } from './presence.ts';

export function sendMessengerError(request: FastifyRequest, reply: FastifyReply, error: unknown) {
  const described = describeError(error);
  if (described.status >= 500) request.log.error({ err: error }, 'request failed');
  if (described.retryAfter) reply.header('retry-after', String(described.retryAfter));
  return reply.code(described.status).send({ error: true, reason: described.message });
}

export async function messengerPlugin(app: FastifyInstance, { kernel: k }: { kernel: Kernel }) {
  // The messenger knows who shares a chat: it tells them when someone comes and goes.
  k.realtime.onPresence((change) => announcePresence(k, change));
  app.setErrorHandler((error: FastifyError, request, reply) => sendMessengerError(request, reply, error));
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: true, reason: `No route ${request.method} ${request.url.split('?')[0]}` }),
  );
  // JSON only (415 otherwise); uploads are streamed to disk as they arrive, never buffered.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));

  await mountSpecification<operations>(app, {
    specification: structuredClone(specification),
    securityHandlers: messengerSecurity(k),
    handlers: { ...usersHandlers(k), ...filesHandlers(k), ...chatsHandlers(k), ...messagesHandlers(k), ...contactsHandlers(k), ...mediaHandlers(k) },
    routeExtras: {
      postMessage: { bodyLimit: MESSAGE_BODY_LIMIT },
      editMessage: { bodyLimit: MESSAGE_BODY_LIMIT },
      uploadFile: {
        onRequest: async (request) => {
          const declared = Number(request.headers['content-length']);
          if (declared > k.config.uploadMaxBytes) {
            throw Object.assign(new Error(`File is larger than the limit of ${k.config.uploadMaxBytes} bytes`), { statusCode: 413 });
          }
          // The Content-Type names the file type; the body itself is always read raw.
          request[UPLOAD_CONTENT_TYPE] = request.headers['content-type'];
          request.headers['content-type'] = 'application/octet-stream';
        },
      },
    },
  });
}
