// Login, logout, me, and the admin resets of users.* in openapi/rocketchat.yaml.
import type { operations } from '../../generated/rocketchat.ts';
import type { Handlers } from '../../http/openapi.ts';
import type { Kernel } from '../../kernel.ts';
import * as accounts from '../accounts.ts';
import { requireRocketChatAuth, twoFactorProofOf } from '../auth.ts';
import * as e2e from '../e2e.ts';
import { requirePermission } from '../permissions.ts';
import * as twofactor from '../twofactor.ts';

type AccountOperations = Pick<operations, 'rcLogin' | 'rcLogout' | 'rcMe' | 'usersResetE2EKey' | 'usersResetTOTP'>;

export function accountsHandlers(k: Kernel): Handlers<AccountOperations> {
  return {
    rcLogin: async (request) =>
      accounts.login(k, {
        ...request.body,
        code: request.body.code ?? request.headers['x-2fa-code'],
        method: request.headers['x-2fa-method'],
        ipAddress: request.ip,
        userAgent: request.headers['user-agent'] as string | undefined,
      }),
    rcLogout: async (request) => accounts.logout(k, requireRocketChatAuth(request)),
    rcMe: async (request) => ({ ...(await accounts.meOf(k, requireRocketChatAuth(request).user)), success: true as const }),

    usersResetE2EKey: async (request) => {
      const auth = requireRocketChatAuth(request);
      await twofactor.requireTwoFactor(k, auth.user, twoFactorProofOf(request));
      // Rocket.Chat's order: the named user is resolved before the permission is checked.
      const target = await accounts.resolveTarget(k, request.body);
      const user = await accounts.authorizeTarget(k, auth, target, 'edit-other-user-e2ee');
      await e2e.resetUserKeys(k, user.id, auth.user.id);
      return { success: true as const };
    },

    usersResetTOTP: async (request) => {
      const auth = requireRocketChatAuth(request);
      await twofactor.requireTwoFactor(k, auth.user, twoFactorProofOf(request));
      const named = request.body && Object.values(request.body).some((value) => value !== undefined);
      // Here the permission comes first (Rocket.Chat's order for users.resetTOTP).
      if (named) await requirePermission(k.db, auth.user, 'edit-other-user-totp');
      const target = (await accounts.resolveTarget(k, request.body)) ?? auth.user;
      await twofactor.resetTotp(k, target.id);
      return { success: true as const };
    },
  };
}
