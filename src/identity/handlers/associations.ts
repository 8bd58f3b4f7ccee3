// bind, unbind, lookups and hash_details, v1 and v2.
import type { operations } from '../../generated/identity.ts';
import type { Handlers } from '../../http/openapi.ts';
import { requireIdentityAuth } from '../auth.ts';
import * as bindings from '../bindings.ts';
import { matrixError } from '../errors.ts';
import type { IdentityService } from '../service.ts';

type AssociationOperations = Pick<
  operations,
  'bind' | 'bind3pid' | 'bindV2' | 'unbind' | 'unbindV2' | 'lookupV1' | 'bulkLookup' | 'getHashDetails' | 'lookupV2'
>;

export function associationHandlers(s: IdentityService): Handlers<AssociationOperations> {
  const unbind: Handlers<Pick<operations, 'unbind'>>['unbind'] = async (request) => {
    await bindings.unbind(s, request.body, { method: request.method, uri: request.url, authorization: request.headers.authorization });
    return {};
  };
  return {
    bind: async (request) => bindings.bind(s, request.body.sid, request.body.client_secret, request.body.mxid),
    bind3pid: async (request) => bindings.bind(s, request.body.sid, request.body.client_secret, request.body.mxid),
    bindV2: async (request) => {
      const auth = requireIdentityAuth(request);
      if (request.body.mxid !== auth.account.userId) throw matrixError(403, 'M_UNAUTHORIZED', 'This user is prohibited from binding to the mxid');
      return bindings.bind(s, request.body.sid, request.body.client_secret, request.body.mxid);
    },
    unbind,
    unbindV2: unbind,
    lookupV1: async (request) => bindings.lookupOne(s, request.query.medium, request.query.address),
    bulkLookup: async (request) => bindings.bulkLookup(s, request.body.threepids),
    getHashDetails: async () => bindings.hashDetails(s),
    lookupV2: async (request) => bindings.hashedLookup(s, request.body.algorithm, request.body.pepper, request.body.addresses),
  };
}
