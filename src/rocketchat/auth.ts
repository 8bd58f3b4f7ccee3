// X-User-Id + X-Auth-Token: the messenger's device sessions, resolved before validation
// (Rocket.Chat authenticates first), with the user id bound to the token.
import type { FastifyRequest } from 'fastify';
import type { AuthContext } from '../auth/sessions.ts';
import { constantTimeEqual } from '../auth/tokens.ts';
import type { Kernel } from '../kernel.ts';
import { notLoggedIn } from './errors.ts';

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Sets request.auth when both headers name one live session. */
export async function resolveRocketChatAuth(k: Kernel, request: FastifyRequest): Promise<void> {
  const token = header(request, 'x-auth-token');
  const userId = header(request, 'x-user-id');
  if (!token || !userId) return;
  const auth = await k.authCache.resolveFor(request.method, token);
  if (auth && constantTimeEqual(String(auth.user.id), userId.trim())) request.auth = auth;
}

/** The x-2fa-code and x-2fa-method headers of a request (Rocket.Chat's two-factor proof). */
export function twoFactorProofOf(request: FastifyRequest): { code?: string; method?: string } {
  return { code: header(request, 'x-2fa-code'), method: header(request, 'x-2fa-method') };
}

export function requireRocketChatAuth(request: FastifyRequest): AuthContext {
  if (!request.auth) throw notLoggedIn();
  return request.auth;
}

export function rocketChatSecurity() {
  const check = async (request: FastifyRequest) => {
    requireRocketChatAuth(request);
  };
  return { userId: check, authToken: check };
}
