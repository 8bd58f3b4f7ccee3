// Message endpoints of openapi/messenger.yaml.
import type { operations } from '../../generated/messenger.ts';
import type { Handlers } from '../../http/openapi.ts';
import type { Kernel } from '../../kernel.ts';
import { requireAuth } from '../auth.ts';
import * as messages from '../messages.ts';

type MessageOperations = Pick<operations, 'listMessages' | 'postMessage' | 'clearChat' | 'editMessage' | 'deleteMessage' | 'markMessageRead' | 'notifyChat'>;

export function messagesHandlers(k: Kernel): Handlers<MessageOperations> {
  return {
    // Already JSON, built by the database: a string with a JSON type is sent as it is.
    listMessages: async (request, reply) =>
      reply
        .type('application/json; charset=utf-8')
        .send(await messages.listMessagesJson(k, requireAuth(request), request.params.chatId, request.query.count ?? 50, request.query.before)),
    postMessage: async (request) => messages.postMessage(k, requireAuth(request), request.params.chatId, request.body),
    clearChat: async (request) => messages.clearChat(k, requireAuth(request), request.params.chatId),
    editMessage: async (request) => messages.editMessage(k, requireAuth(request), request.params.chatId, request.params.messageId, request.body),
    deleteMessage: async (request) => messages.deleteMessage(k, requireAuth(request), request.params.chatId, request.params.messageId),
    markMessageRead: async (request) => messages.markRead(k, requireAuth(request), request.params.chatId, request.params.messageId),
    notifyChat: async (request) => messages.notify(k, requireAuth(request), request.params.chatId, request.body),
  };
}
