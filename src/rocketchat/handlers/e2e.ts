// The e2e.* endpoints of openapi/rocketchat.yaml.
import type { operations } from '../../generated/rocketchat.ts';
import type { Handlers } from '../../http/openapi.ts';
import type { Kernel } from '../../kernel.ts';
import { requireRocketChatAuth, twoFactorProofOf } from '../auth.ts';
import * as e2e from '../e2e.ts';
import * as twofactor from '../twofactor.ts';

type E2eOperations = Pick<
  operations,
  | 'e2eFetchMyKeys'
  | 'e2eSetUserPublicAndPrivateKeys'
  | 'e2eGetUsersOfRoomWithoutKey'
  | 'e2eUpdateGroupKey'
  | 'e2eSetRoomKeyID'
  | 'e2eRequestSubscriptionKeys'
  | 'e2eResetOwnE2EKey'
  | 'e2eAcceptSuggestedGroupKey'
  | 'e2eRejectSuggestedGroupKey'
  | 'e2eFetchUsersWaitingForGroupKey'
  | 'e2eProvideUsersSuggestedGroupKeys'
  | 'e2eResetRoomKey'
>;

const ok = { success: true as const };

export function e2eHandlers(k: Kernel): Handlers<E2eOperations> {
  return {
    e2eFetchMyKeys: async (request) => ({ ...(await e2e.fetchMyKeys(k, requireRocketChatAuth(request))), ...ok }),
    e2eSetUserPublicAndPrivateKeys: async (request) => {
      const auth = requireRocketChatAuth(request);
      // The account's key pair decides who can read its E2E rooms: a token alone cannot set it.
      await twofactor.requireTwoFactor(k, auth.user, twoFactorProofOf(request));
      await e2e.setUserKeys(k, auth, request.body);
      return ok;
    },
    e2eGetUsersOfRoomWithoutKey: async (request) => ({
      ...(await e2e.usersOfRoomWithoutKey(k, requireRocketChatAuth(request), request.query.rid)),
      ...ok,
    }),
    e2eUpdateGroupKey: async (request) => {
      await e2e.updateGroupKey(k, requireRocketChatAuth(request), request.body);
      return ok;
    },
    e2eSetRoomKeyID: async (request) => {
      await e2e.setRoomKeyId(k, requireRocketChatAuth(request), request.body.rid, request.body.keyID);
      return ok;
    },
    e2eRequestSubscriptionKeys: async (request) => {
      await e2e.requestKeys(k, requireRocketChatAuth(request).user.id);
      return ok;
    },
    e2eResetOwnE2EKey: async (request) => {
      const auth = requireRocketChatAuth(request);
      await twofactor.requireTwoFactor(k, auth.user, twoFactorProofOf(request));
      await e2e.resetUserKeys(k, auth.user.id, auth.user.id);
      return ok;
    },
    e2eAcceptSuggestedGroupKey: async (request) => {
      await e2e.acceptSuggestedKey(k, requireRocketChatAuth(request), request.body.rid);
      return ok;
    },
    e2eRejectSuggestedGroupKey: async (request) => {
      await e2e.rejectSuggestedKey(k, requireRocketChatAuth(request), request.body.rid);
      return ok;
    },
    e2eFetchUsersWaitingForGroupKey: async (request) => {
      const roomIds = [...(request.query.roomIds ?? []), ...(request.query['roomIds[]'] ?? [])];
      return { ...(await e2e.usersWaitingForGroupKey(k, requireRocketChatAuth(request), roomIds)), ...ok };
    },
    e2eResetRoomKey: async (request) => {
      await e2e.resetRoomKey(k, requireRocketChatAuth(request), request.body);
      return ok;
    },
    e2eProvideUsersSuggestedGroupKeys: async (request) => {
      await e2e.provideSuggestedKeys(k, requireRocketChatAuth(request), request.body.usersSuggestedGroupKeys);
      return ok;
    },
  };
}
