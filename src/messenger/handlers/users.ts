// Users endpoints of openapi/messenger.yaml: typed request → domain call → typed reply.
import type { operations } from '../../generated/messenger.ts';
import type { Handlers } from '../../http/openapi.ts';
import type { Kernel } from '../../kernel.ts';
import { requireAuth, requirePasswordUser } from '../auth.ts';
import { presenceOf } from '../presence.ts';
import * as users from '../users.ts';

type UserOperations = Pick<
  operations,
  | 'registerUser'
  | 'searchUsers'
  | 'listUsers'
  | 'loginUser'
  | 'getCurrentUser'
  | 'updateCurrentUser'
  | 'deleteCurrentUser'
  | 'logoutUser'
  | 'changePassword'
  | 'changePasswordCurrent'
  | 'setAccountKey'
  | 'setAccountKeyCurrent'
  | 'resetPassword'
  | 'resetPasswordCurrent'
  | 'updateDeviceSession'
  | 'getUser'
  | 'getPresence'
  | 'addUserPhoto'
  | 'deleteUserPhoto'
>;

export function usersHandlers(k: Kernel): Handlers<UserOperations> {
  return {
    registerUser: async (request) => users.registerUser(k, { ...request.body, ipAddress: request.ip }),

    loginUser: async (request) => {
      const body = request.body;
      const deviceInfo = 'deviceInfo' in body && body.deviceInfo ? body.deviceInfo : (body as typeof body & users.Registration['deviceInfo']);
      return users.startDeviceSession(k, requirePasswordUser(request), deviceInfo, request.ip);
    },

    getCurrentUser: async (request) => users.currentUser(k, requireAuth(request)),

    getPresence: async (request) => {
      requireAuth(request);
      return presenceOf(k, request.query.ids.split(',').map(Number));
    },
    updateCurrentUser: async (request) => users.updateProfile(k, requireAuth(request), request.body),
    deleteCurrentUser: async (request) =>
      // Basic credentials (with their second factor) are themselves the fresh proof.
      request.passwordUser
        ? users.deleteAccount(k, request.passwordUser.id)
        : users.deleteOwnAccount(k, requireAuth(request), { password: request.body?.password, code: request.headers['x-2fa-code'] }),
    logoutUser: async (request) => users.logout(k, requireAuth(request)),

    changePassword: async (request) => users.changePassword(k, requireAuth(request), request.body.oldPassword, request.body.newPassword),
    changePasswordCurrent: async (request) =>
      users.changePassword(k, requireAuth(request), request.body.currentPassword, request.body.newPassword),
    setAccountKey: async (request) =>
      users.setAccountKey(k, requireAuth(request), { password: request.body.password, code: request.headers['x-2fa-code'] }, request.body.accountKey),
    setAccountKeyCurrent: async (request) =>
      users.setAccountKey(k, requireAuth(request), { password: request.body.password, code: request.headers['x-2fa-code'] }, request.body.accountKey),
    resetPassword: async (request) => users.resetPassword(k, request.body.userId, request.body.accountKey, request.body.newPassword, request.ip),
    resetPasswordCurrent: async (request) =>
      users.resetPassword(k, request.body.userId, request.body.accountKey, request.body.newPassword, request.ip),

    updateDeviceSession: async (request) => users.updateDevice(k, requireAuth(request), request.body.deviceName, request.body.deviceToken, request.body.transport),
    getUser: async (request) =>
      users.getUser(k, request.params.id, request.query.full === '1' || request.query.full === 'true', request.auth),
    searchUsers: async (request) => users.searchUsers(k, request.query.s ?? request.query.search),
    listUsers: async (request) => users.listUsers(k, request.query.count ?? 20, request.query.id),
    addUserPhoto: async (request) => users.addPhoto(k, requireAuth(request), request.body.photo),
    deleteUserPhoto: async (request) => users.deletePhoto(k, requireAuth(request), request.params.photoId),
  };
}
