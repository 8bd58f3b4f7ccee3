// TOTP enrolment endpoints and method.call of openapi/rocketchat.yaml.
import type { operations } from '../../generated/rocketchat.ts';
import type { Handlers } from '../../http/openapi.ts';
import type { Kernel } from '../../kernel.ts';
import { requireRocketChatAuth, twoFactorProofOf } from '../auth.ts';
import { rcError } from '../errors.ts';
import { callMethod } from '../methodcall.ts';
import * as twofactor from '../twofactor.ts';

type TwoFactorOperations = Pick<
  operations,
  | 'totpEnable'
  | 'totpValidate'
  | 'totpDisable'
  | 'totpRegenerateCodes'
  | 'totpCodesRemaining'
  | 'methodCall'
  | 'sendEmailCode'
  | 'enableEmail2fa'
  | 'disableEmail2fa'
>;

const invalidTotp = () => rcError('', 'invalid-totp');

export function twoFactorHandlers(k: Kernel): Handlers<TwoFactorOperations> {
  return {
    totpEnable: async (request) => ({
      ...(await twofactor.enable(k, requireRocketChatAuth(request), twoFactorProofOf(request))),
      success: true as const,
    }),
    totpValidate: async (request) => ({
      ...(await twofactor.validateTempToken(k, requireRocketChatAuth(request), request.body.code)),
      success: true as const,
    }),
    totpDisable: async (request) => {
      if (!(await twofactor.disable(k, requireRocketChatAuth(request), request.body.code))) throw invalidTotp();
      return { success: true as const };
    },
    totpRegenerateCodes: async (request) => {
      const result = await twofactor.regenerateCodes(k, requireRocketChatAuth(request), request.body.code);
      if (!result) throw invalidTotp();
      return { ...result, success: true as const };
    },
    totpCodesRemaining: async (request) => ({ ...(await twofactor.codesRemaining(k, requireRocketChatAuth(request))), success: true as const }),
    sendEmailCode: async (request) => {
      await twofactor.sendEmailCode(k, request.auth, request.body.emailOrUsername, request.ip);
      return { success: true as const };
    },
    enableEmail2fa: async (request) => {
      await twofactor.enableEmail(k, requireRocketChatAuth(request));
      return { success: true as const };
    },
    disableEmail2fa: async (request) => {
      await twofactor.disableEmail(k, requireRocketChatAuth(request), twoFactorProofOf(request));
      return { success: true as const };
    },
    methodCall: async (request) =>
      callMethod(k, requireRocketChatAuth(request), request.params.method, request.body.message, twoFactorProofOf(request)),
  };
}
