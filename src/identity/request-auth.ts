// Requests signed by a homeserver (`Authorization: X-Matrix origin=…,key=…,sig=…`): the
// signature covers {method, uri, origin, destination(_is), content}, verified with the
// origin's key from its /_matrix/key/v2/server (cached until its valid_until_ts, ./server-keys.ts).
import { matrixError } from './errors.ts';
import { parseServerName } from './federation.ts';
import type { IdentityService } from './service.ts';
import { verifySignedJson } from './signing.ts';

export function parseXMatrix(header: string | undefined): { origin: string; key: string; sig: string } | undefined {
  if (!header || !/^X-Matrix\s+/i.test(header)) return undefined;
  const params: Record<string, string> = {};
  for (const part of header.replace(/^X-Matrix\s+/i, '').split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    params[part.slice(0, eq).trim().toLowerCase()] = part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return params.origin && params.key && params.sig ? { origin: params.origin, key: params.key, sig: params.sig } : undefined;
}

export async function verifyFederationRequest(
  s: IdentityService,
  request: { method: string; uri: string; authorization?: string; content: unknown },
): Promise<string> {
  if (!request.authorization) throw matrixError(401, 'M_FORBIDDEN', 'Missing Authorization headers');
  const auth = parseXMatrix(request.authorization);
  if (!auth) throw matrixError(401, 'M_FORBIDDEN', 'Malformed Authorization header');
  if (!parseServerName(auth.origin)) throw matrixError(400, 'M_INVALID_PARAM', 'Invalid origin server name');

  let publicKey: string | undefined;
  try {
    publicKey = await s.federation.serverKeys.key(auth.origin, auth.key);
  } catch (error) {
    s.k.log.warn({ err: error, origin: auth.origin }, 'fetching a homeserver key failed');
  }
  if (!publicKey) throw matrixError(401, 'M_FORBIDDEN', `No key ${auth.key} of ${auth.origin}`);

  const destinations = new Set([s.serverName, new URL(s.k.config.publicUrl).host]);
  for (const destination of destinations) {
    for (const field of ['destination_is', 'destination']) {
      const signed = {
        method: request.method,
        uri: request.uri,
        origin: auth.origin,
        [field]: destination,
        content: request.content,
        signatures: { [auth.origin]: { [auth.key]: auth.sig } },
      };
      if (verifySignedJson(signed, auth.origin, auth.key, publicKey)) return auth.origin;
    }
  }
  throw matrixError(401, 'M_FORBIDDEN', 'Invalid signature');
}
