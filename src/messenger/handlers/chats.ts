// Chat endpoints of openapi/messenger.yaml.
import type { operations } from '../../generated/messenger.ts';
import type { Handlers } from '../../http/openapi.ts';
import type { Kernel } from '../../kernel.ts';
import { requireAuth } from '../auth.ts';
import * as chats from '../chats.ts';

type ChatOperations = Pick<
  operations,
  | 'listChats'
  | 'createChat'
  | 'getChat'
  | 'updateChat'
  | 'deleteChat'
  | 'updateChatSettings'
  | 'addChatImage'
  | 'deleteChatImage'
  | 'addChatUsers'
  | 'removeChatUsers'
  | 'exitChat'
  | 'blockChat'
  | 'unblockChat'
  | 'blockChatUser'
  | 'unblockChatUser'
  | 'listBlockedChatUsers'
>;

const isTrue = (value: string | undefined) => value === '1' || value === 'true';

export function chatsHandlers(k: Kernel): Handlers<ChatOperations> {
  return {
    listChats: async (request) => chats.listChats(k, requireAuth(request), isTrue(request.query.full)),
    createChat: async (request) => chats.createChat(k, requireAuth(request), request.body),
    getChat: async (request) => chats.getChat(k, requireAuth(request), request.params.chatId),
    updateChat: async (request) => chats.updateChat(k, requireAuth(request), request.params.chatId, request.body),
    deleteChat: async (request) => chats.deleteChat(k, requireAuth(request), request.params.chatId),
    updateChatSettings: async (request) => chats.updateSettings(k, requireAuth(request), request.params.chatId, request.body),
    addChatImage: async (request) => chats.addImage(k, requireAuth(request), request.params.chatId, request.body.image),
    deleteChatImage: async (request) => chats.deleteImage(k, requireAuth(request), request.params.chatId, request.params.imageId),
    addChatUsers: async (request) => chats.addUsers(k, requireAuth(request), request.params.chatId, request.body.users),
    removeChatUsers: async (request) => chats.removeUsers(k, requireAuth(request), request.params.chatId, request.body.users),
    exitChat: async (request) => chats.exitChat(k, requireAuth(request), request.params.chatId),
    blockChat: async (request) => chats.setChatBlocked(k, requireAuth(request), request.params.chatId, true),
    unblockChat: async (request) => chats.setChatBlocked(k, requireAuth(request), request.params.chatId, false),
    blockChatUser: async (request) => chats.setUserBlocked(k, requireAuth(request), request.params.chatId, request.params.userId, true),
    unblockChatUser: async (request) => chats.setUserBlocked(k, requireAuth(request), request.params.chatId, request.params.userId, false),
    listBlockedChatUsers: async (request) => chats.blockedUsers(k, requireAuth(request), request.params.chatId),
  };
}
