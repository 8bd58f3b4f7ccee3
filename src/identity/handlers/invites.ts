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

const storedInviteReply = (stored: invites.StoredInvite) => ({
  token: stored.token,
  public_key: stored.public_key,
  public_keys: [stored.longTermKey, stored.ephemeralKey],
  display_name: stored.display_name,
});

export function inviteHandlers(s: IdentityService): Handlers<InviteOperations> {
  return {
    // Objects on v1 as on v2 (as Sydent; the seed's bare strings break homeservers), with the legacy public_key.
    storeInvite: async (request) => storedInviteReply(await invites.storeInvite(s, request.body)),
    storeInviteV2: async (request) => storedInviteReply(await invites.storeInvite(s, request.body, requireIdentityAuth(request).account.userId)),
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
