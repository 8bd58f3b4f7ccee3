// Identity-server accounts (v2): a Matrix OpenID token, checked with the user's homeserver,
// buys a Bearer access token (kept only as its hash) for that Matrix ID.
import { eq } from 'drizzle-orm';
import { hashToken, newSecretToken } from '../auth/tokens.ts';
import { identityAccessTokens, identityAccounts } from '../db/schema/index.ts';
import { invalidParam, matrixError } from './errors.ts';
import { FederationRefusedError, parseServerName, serverOfMxid } from './federation.ts';
import type { IdentityService } from './service.ts';

export type IdentityAccount = typeof identityAccounts.$inferSelect;

export interface IdentityAuth {
  account: IdentityAccount;
  tokenHash: string;
}

export async function registerAccount(s: IdentityService, openIdToken: string, matrixServerName: string): Promise<{ token: string; access_token: string }> {
  const serverName = matrixServerName.toLowerCase();
  if (!parseServerName(serverName)) throw invalidParam('matrix_server_name is not a valid Matrix server name');
  // A lone UTF-16 surrogate cannot be sent in a URL (encodeURIComponent throws).
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(openIdToken)) {
    throw invalidParam('access_token is not valid text');
  }
  let response;
  try {
    response = await s.federation.request(serverName, 'GET', `/_matrix/federation/v1/openid/userinfo?access_token=${encodeURIComponent(openIdToken)}`);
  } catch (error) {
    if (error instanceof FederationRefusedError) throw matrixError(403, 'M_FORBIDDEN', error.message);
    s.k.log.warn({ err: error, serverName }, 'OpenID userinfo request failed');
    throw matrixError(502, 'M_UNKNOWN', `Could not reach the homeserver ${serverName}`);
  }
  if (response.status === 401 || response.status === 403 || response.status === 404) {
    throw matrixError(401, 'M_UNAUTHORIZED', 'The homeserver did not accept the OpenID token');
  }
  const sub = (response.body as { sub?: unknown } | undefined)?.sub;
  if (response.status !== 200 || typeof sub !== 'string') throw matrixError(502, 'M_UNKNOWN', 'The homeserver gave no valid user for the OpenID token');
  if (serverOfMxid(sub) !== serverName) throw matrixError(401, 'M_UNAUTHORIZED', 'The homeserver answered for a user of another server');

  const token = newSecretToken();
  await s.k.db.transaction(async (tx) => {
    await tx.insert(identityAccounts).values({ userId: sub }).onConflictDoNothing();
    await tx.insert(identityAccessTokens).values({ tokenHash: hashToken(token), userId: sub });
  });
  return { token, access_token: token };
}

export async function resolveToken(s: IdentityService, token: string): Promise<IdentityAuth | undefined> {
  const tokenHash = hashToken(token);
  const [row] = await s.k.db
    .select({ account: identityAccounts })
    .from(identityAccessTokens)
    .innerJoin(identityAccounts, eq(identityAccounts.userId, identityAccessTokens.userId))
    .where(eq(identityAccessTokens.tokenHash, tokenHash));
  return row ? { account: row.account, tokenHash } : undefined;
}

export async function logout(s: IdentityService, auth: IdentityAuth): Promise<void> {
  await s.k.db.delete(identityAccessTokens).where(eq(identityAccessTokens.tokenHash, auth.tokenHash));
}
