// The identity service's security handlers: Bearer access tokens from account/register,
// with the terms gate (M_TERMS_NOT_SIGNED) on every endpoint but logout and POST terms.
import type { FastifyRequest } from 'fastify';
import { bearerToken } from '../auth/credentials.ts';
import { resolveToken, type IdentityAuth } from './accounts.ts';
import { matrixError } from './errors.ts';
import type { IdentityService } from './service.ts';
import { assertTermsAccepted } from './terms.ts';

declare module 'fastify' {
  interface FastifyRequest {
    identityAuth?: IdentityAuth;
  }
}

export function requireIdentityAuth(request: FastifyRequest): IdentityAuth {
  if (!request.identityAuth) throw matrixError(401, 'M_UNAUTHORIZED', 'Unauthorized');
  return request.identityAuth;
}

export function identitySecurity(s: IdentityService) {
  const authenticate = async (request: FastifyRequest, termsGate: boolean) => {
    const token = bearerToken(request.headers.authorization);
    const auth = token ? await resolveToken(s, token) : undefined;
    if (!auth) throw matrixError(401, 'M_UNAUTHORIZED', 'Unauthorized');
    if (termsGate) assertTermsAccepted(s.terms, auth.account.consentVersion);
    request.identityAuth = auth;
  };
  return {
    accessToken: (request: FastifyRequest) => authenticate(request, true),
    accessTokenTermsExempt: (request: FastifyRequest) => authenticate(request, false),
  };
}
