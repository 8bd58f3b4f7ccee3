// 3PID associations: bind (signed, delivering pending invites to the homeserver),
// unbind with either proof, and the v1 and hashed v2 lookups.
import { and, eq, gte, inArray, isNull, lte, or } from 'drizzle-orm';
import { equalsAnyText } from '../db/client.ts';
import { identityAssociations, identityEphemeralKeys, identityInvites } from '../db/schema/index.ts';
import { OutboundRefusedError } from '../http/outbound.ts';
import { invalidParam, matrixError } from './errors.ts';
import { FederationRefusedError, serverOfMxid } from './federation.ts';
import { lookupHash, normaliseAddress } from './hashing.ts';
import { isLive } from './lookup-cache.ts';
import { verifyFederationRequest } from './request-auth.ts';
import { inBackground, type IdentityService } from './service.ts';
import { signJson, type Signed } from './signing.ts';
import { validatedSession } from './validation.ts';
import type { components } from '../generated/identity.ts';

export const ASSOCIATION_LIFETIME_MS = 100 * 365 * 24 * 3600 * 1000;
export const LOOKUP_LIMIT = 10_000;
export const HASH_ALGORITHMS = ['sha256', 'none'];

type AssociationRow = typeof identityAssociations.$inferSelect;

/** An invite as delivered to the homeserver on bind (the spec's Invite). */
export type InviteDelivery = components['schemas']['Invite'];

/** A binding before signing: the spec's SignedAssociation without its signatures. */
export type Association = Omit<components['schemas']['SignedAssociation'], 'signatures'>;

function associationOf(row: AssociationRow): Association {
  return { address: row.address, medium: row.medium, mxid: row.mxid, not_before: row.notBefore, not_after: row.notAfter, ts: row.ts };
}

/** Publishes medium/address → mxid (replacing an older binding) and picks up the pending invites. */
export async function bind(s: IdentityService, sid: string, clientSecret: string, mxid: string): Promise<Signed<Association>> {
  const session = await validatedSession(s, sid, clientSecret);
  const server = serverOfMxid(mxid);
  if (!server) throw invalidParam('mxid is not a valid Matrix user ID');
  const medium = session.medium;
  const address = normaliseAddress(medium, session.address);
  const now = Date.now();
  const values = { medium, address, mxid, lookupHash: lookupHash(medium, address, s.pepper), ts: now, notBefore: now, notAfter: now + ASSOCIATION_LIFETIME_MS };
  const { row, invites } = await s.lookups.changing([values.lookupHash], async () => {
    const result = await s.k.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(identityAssociations)
        .values(values)
        .onConflictDoUpdate({ target: [identityAssociations.medium, identityAssociations.address], set: values })
        .returning();
      const invites = await tx
        .update(identityInvites)
        .set({ sentAt: new Date(now) })
        .where(and(eq(identityInvites.medium, medium), eq(identityInvites.address, address), isNull(identityInvites.sentAt)))
        .returning();
      return { row, invites };
    });
    return { result, changed: [values.lookupHash] };
  });
  const association: Association = associationOf(row);
  if (invites.length > 0) {
    association.invites = invites.map((invite) => ({
      medium: invite.medium,
      address: invite.address,
      mxid,
      room_id: invite.roomId,
      sender: invite.sender,
      token: invite.token,
      signed: signJson({ mxid, token: invite.token }, s.serverName, s.key),
    }));
  }
  const signed = signJson(association, s.serverName, s.key);
  inBackground(s, () => notifyHomeserver(s, server, signed, invites.map((invite) => invite.id)));
  return signed;
}

/** Sleeps, or returns early when the app closes. */
function pause(s: IdentityService, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const check = setInterval(() => {
      if (s.closing) {
        clearTimeout(timer);
        clearInterval(check);
        resolve();
      }
    }, 50);
    timer.unref();
    check.unref();
    setTimeout(() => clearInterval(check), ms).unref();
  });
}

const ONBIND_PATH = '/_matrix/federation/v1/3pid/onbind';
const ONBIND_ATTEMPTS = 5;

/** PUT (the spec) then POST (Sydent) to the homeserver's onbind; delivered invites are removed. */
async function notifyHomeserver(s: IdentityService, server: string, association: Signed<Association>, inviteIds: number[]): Promise<void> {
  for (let attempt = 0; attempt < ONBIND_ATTEMPTS && !s.closing; attempt += 1) {
    try {
      let response = await s.federation.request(server, 'PUT', ONBIND_PATH, association);
      if (response.status === 404 || response.status === 405) response = await s.federation.request(server, 'POST', ONBIND_PATH, association);
      if (response.status >= 200 && response.status < 300) {
        if (inviteIds.length > 0 && !s.closing) {
          await s.k.db.transaction(async (tx) => {
            const removed = await tx.delete(identityInvites).where(inArray(identityInvites.id, inviteIds)).returning();
            const keys = removed.map((invite) => invite.ephemeralPublicKey);
            if (keys.length > 0) await tx.delete(identityEphemeralKeys).where(inArray(identityEphemeralKeys.publicKey, keys));
          });
        }
        return;
      }
      s.k.log.warn({ server, status: response.status, attempt }, 'homeserver refused onbind');
    } catch (error) {
      s.k.log.warn({ server, err: error, attempt }, 'onbind to the homeserver failed');
      // Refused, not failed: retrying would be refused again.
      if (error instanceof FederationRefusedError || error instanceof OutboundRefusedError) return;
    }
    await pause(s, 1000 * 2 ** attempt);
  }
}

export interface UnbindRequest {
  mxid: string;
  threepid: { medium: string; address: string };
  sid?: string;
  client_secret?: string;
}

/** Proof: sid + client_secret of a validated session of that 3PID, or a request signed by the mxid's homeserver. */
export async function unbind(s: IdentityService, body: UnbindRequest, request: { method: string; uri: string; authorization?: string }): Promise<void> {
  const medium = body.threepid.medium;
  const address = normaliseAddress(medium, body.threepid.address);
  if (body.sid !== undefined && body.client_secret !== undefined) {
    const session = await validatedSession(s, body.sid, body.client_secret, { noSession: 401, notValidated: 403 });
    if (session.medium !== medium || normaliseAddress(session.medium, session.address) !== address) {
      throw matrixError(403, 'M_FORBIDDEN', "This validation session is not for the 3PID being unbound");
    }
  } else {
    const origin = await verifyFederationRequest(s, { ...request, content: body });
    if (serverOfMxid(body.mxid) !== origin) throw matrixError(403, 'M_FORBIDDEN', 'Origin server name does not match mxid');
  }
  await s.lookups.changing([lookupHash(medium, address, s.pepper)], async () => {
    const removed = await s.k.db
      .delete(identityAssociations)
      .where(and(eq(identityAssociations.medium, medium), eq(identityAssociations.address, address), eq(identityAssociations.mxid, body.mxid)))
      .returning({ lookupHash: identityAssociations.lookupHash });
    return { result: undefined, changed: removed.map((row) => row.lookupHash) };
  });
}

const live = (now: number) => and(lte(identityAssociations.notBefore, now), gte(identityAssociations.notAfter, now));

/** v1 lookup: the signed association, or {} when the 3PID is not bound. */
export async function lookupOne(s: IdentityService, medium: string, rawAddress: string): Promise<Signed<Association> | Record<string, never>> {
  const address = normaliseAddress(medium, rawAddress);
  const answer = await s.lookups.one(lookupHash(medium, address, s.pepper), async () => {
    const [row] = await s.k.db
      .select()
      .from(identityAssociations)
      .where(and(eq(identityAssociations.medium, medium), eq(identityAssociations.address, address)));
    // Signed once per binding, not once per lookup.
    return row ? { row, signed: signJson(associationOf(row), s.serverName, s.key) } : {};
  });
  return answer.row && answer.signed && isLive(answer.row, Date.now()) ? answer.signed : {};
}

/** The mxids of many (medium, address) pairs in one query; keys are `<medium>\n<normalised address>`. */
async function mxidsOf(s: IdentityService, pairs: Array<[string, string]>): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  if (pairs.length === 0) return found;
  const byMedium = new Map<string, string[]>();
  for (const [medium, address] of pairs) byMedium.set(medium, [...(byMedium.get(medium) ?? []), address]);
  const rows = await s.k.db
    .select({ medium: identityAssociations.medium, address: identityAssociations.address, mxid: identityAssociations.mxid })
    .from(identityAssociations)
    .where(
      and(
        or(...[...byMedium].map(([medium, addresses]) => and(eq(identityAssociations.medium, medium), equalsAnyText(identityAssociations.address, addresses)))),
        live(Date.now()),
      ),
    );
  for (const row of rows) found.set(`${row.medium}\n${row.address}`, row.mxid);
  return found;
}

export async function bulkLookup(s: IdentityService, threepids: string[][]): Promise<{ threepids: string[][] }> {
  const pairs = threepids.map(([medium, address]) => [medium, normaliseAddress(medium, address)] as [string, string]);
  const found = await mxidsOf(s, pairs);
  const result: string[][] = [];
  pairs.forEach(([medium, address], i) => {
    const mxid = found.get(`${medium}\n${address}`);
    if (mxid) result.push([medium, threepids[i][1], mxid]);
  });
  return { threepids: result };
}

export function hashDetails(s: IdentityService) {
  return { algorithms: HASH_ALGORITHMS, lookup_pepper: s.pepper };
}

export async function hashedLookup(s: IdentityService, algorithm: string, pepper: string, addresses: string[]): Promise<{ mappings: Record<string, string> }> {
  if (!HASH_ALGORITHMS.includes(algorithm)) throw invalidParam('algorithm is not supported');
  if (addresses.length > LOOKUP_LIMIT) throw matrixError(400, 'M_TOO_LARGE', `More than the maximum of ${LOOKUP_LIMIT} addresses`);
  if (pepper !== s.pepper) {
    throw matrixError(400, 'M_INVALID_PEPPER', "pepper does not match the server's", { algorithm, lookup_pepper: s.pepper });
  }
  const mappings: Record<string, string> = {};
  if (algorithm === 'sha256') {
    if (addresses.length === 0) return { mappings };
    const answers = await s.lookups.hashes(addresses, async (missing) => {
      const rows = await s.k.db
        .select({ lookupHash: identityAssociations.lookupHash, mxid: identityAssociations.mxid, notBefore: identityAssociations.notBefore, notAfter: identityAssociations.notAfter })
        .from(identityAssociations)
        .where(equalsAnyText(identityAssociations.lookupHash, missing));
      const byHash = new Map<string, Array<{ mxid: string; notBefore: number; notAfter: number }>>();
      for (const { lookupHash: hash, ...row } of rows) byHash.set(hash, [...(byHash.get(hash) ?? []), row]);
      return byHash;
    });
    const now = Date.now();
    for (const [hash, rows] of answers) {
      const row = rows.find((candidate) => isLive(candidate, now));
      if (row) mappings[hash] = row.mxid;
    }
    return { mappings };
  }
  const pairs = addresses.map((entry) => {
    const parts = entry.trim().split(/\s+/);
    if (parts.length !== 2) throw invalidParam(`Invalid "address medium" pair: ${entry}`);
    return [parts[1], normaliseAddress(parts[1], parts[0])] as [string, string];
  });
  const found = await mxidsOf(s, pairs);
  pairs.forEach(([medium, address], i) => {
    const mxid = found.get(`${medium}\n${address}`);
    if (mxid) mappings[addresses[i]] = mxid;
  });
  return { mappings };
}
