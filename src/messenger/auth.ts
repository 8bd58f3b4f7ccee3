// The messenger's security handlers (fastify-openapi-glue): Bearer device sessions and
// Basic credentials.
import type { FastifyRequest } from 'fastify';
import { bearerToken, basicCredentials } from '../auth/credentials.ts';
import { authenticatePassword } from '../auth/login.ts';
import type { AuthContext, UserRow } from '../auth/sessions.ts';
import { unauthorized } from '../http/errors.ts';
import type { Kernel } from '../kernel.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The account whose Basic credentials this request carried. */
    passwordUser?: UserRow;
  }
}

export function requireAuth(request: FastifyRequest): AuthContext {
  if (!request.auth) throw unauthorized();
  return request.auth;
}

export function requirePasswordUser(request: FastifyRequest): UserRow {
  if (!request.passwordUser) throw unauthorized('Invalid user or password.');
  return request.passwordUser;
}

export function messengerSecurity(k: Kernel) {
  return {
    bearerAuth: async (request: FastifyRequest) => {
      const token = bearerToken(request.headers.authorization);
      const auth = token ? await k.authCache.resolveFor(request.method, token) : undefined;
      if (!auth) throw unauthorized(token ? 'Invalid or revoked access token' : 'Missing Bearer access token');
      request.auth = auth;
    },
    basicAuth: async (request: FastifyRequest) => {
      const credentials = basicCredentials(request.headers.authorization);
      if (!credentials) throw unauthorized('Missing Basic credentials');
      const user = await authenticatePassword(k.db, k.limiters, { ...credentials, ipAddress: request.ip });
      await k.secondFactor?.(user, headerValue(request.headers['x-2fa-code']));
      request.passwordUser = user;
    },
  };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
