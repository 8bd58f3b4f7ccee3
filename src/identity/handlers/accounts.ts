// Status, versions, account/register, account, logout and terms.
import type { operations } from '../../generated/identity.ts';
import type { Handlers } from '../../http/openapi.ts';
import * as accounts from '../accounts.ts';
import { requireIdentityAuth } from '../auth.ts';
import type { IdentityService } from '../service.ts';
import { acceptTerms } from '../terms.ts';

type AccountOperations = Pick<
  operations,
  'getVersions' | 'v1Status' | 'v2Status' | 'registerAccount' | 'getAccount' | 'logoutAccount' | 'getTerms' | 'acceptTerms'
>;

export const SPEC_VERSIONS = ['r0.1.0', 'r0.2.0', 'r0.2.1', 'r0.3.0', 'v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5'];

export function accountHandlers(s: IdentityService): Handlers<AccountOperations> {
  return {
    getVersions: async () => ({ versions: SPEC_VERSIONS }),
    v1Status: async () => ({}),
    v2Status: async () => ({}),
    registerAccount: async (request) => accounts.registerAccount(s, request.body.access_token, request.body.matrix_server_name),
    getAccount: async (request) => ({ user_id: requireIdentityAuth(request).account.userId }),
    logoutAccount: async (request) => {
      await accounts.logout(s, requireIdentityAuth(request));
      return {};
    },
    // Each policy's `version` beside its languages: the generated type cannot say so exactly.
    getTerms: async () => ({ policies: s.terms.policies as never }),
    acceptTerms: async (request) => {
      await acceptTerms(s, requireIdentityAuth(request).account.userId, request.body.user_accepts);
      return {};
    },
  };
}
