// store-invite, sign-ed25519 and the public key endpoints, v1 and v2.
import type { operations } from '../../generated/identity.ts';
import type { Handlers } from '../../http/openapi.ts';
import { requireIdentityAuth } from '../auth.ts';
import * as invites from '../invites.ts';
import type { IdentityService } from '../service.ts';

type InviteOperations = Pick<
  operations,
  | 'storeInvite'
  | 'storeInviteV2'
  | 'blindlySignStuff'
  | 'signEd25519V2'
  | 'getPubKey'
  | 'getPubKeyV2'
  | 'isPubKeyValid'
  | 'isPubKeyValidV2'
  | 'isEphemeralPubKeyValid'
  | 'isEphemeralPubKeyValidV2'
>;

export function inviteHandlers(s: IdentityService): Handlers<InviteOperations> {
  return {
    storeInvite: async (request) => {
      const stored = await invites.storeInvite(s, request.body);
      // The seeds' v1 form: public_keys is [long-term key, ephemeral key].
      return { token: stored.token, public_key: stored.public_key, public_keys: [stored.longTermKey.public_key, stored.ephemeralKey.public_key], display_name: stored.display_name };
    },
    storeInviteV2: async (request) => {
      const stored = await invites.storeInvite(s, request.body, requireIdentityAuth(request).account.userId);
      return { token: stored.token, public_key: stored.public_key, public_keys: [stored.longTermKey, stored.ephemeralKey], display_name: stored.display_name };
    },
    // Legacy sign URLs (emailed signurl) carry token and private_key in the query string.
    blindlySignStuff: async (request) => invites.signInvite(s, { ...request.query, ...request.body }),
    signEd25519V2: async (request) => invites.signInvite(s, { ...request.query, ...request.body }),
    getPubKey: async (request) => invites.publicKeyOf(s, request.params.keyId),
    getPubKeyV2: async (request) => invites.publicKeyOf(s, request.params.keyId),
    isPubKeyValid: async (request) => invites.isLongTermKeyValid(s, request.query.public_key),
    isPubKeyValidV2: async (request) => invites.isLongTermKeyValid(s, request.query.public_key),
    isEphemeralPubKeyValid: async (request) => invites.isEphemeralKeyValid(s, request.query.public_key),
    isEphemeralPubKeyValidV2: async (request) => invites.isEphemeralKeyValid(s, request.query.public_key),
  };
}
