// Errors fastify raises before any route matches (a percent-encoding that is not UTF-8,
// a path parameter over the router's length limit): answered in the envelope of the
// surface the URL points into, like every other 4xx.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { addSecurityHeaders } from './security-headers.ts';

/** Longest prefix first: /api/v1 (Rocket.Chat) before /api (messenger). */
const ENVELOPES: Array<[prefix: string, body: (message: string) => object]> = [
  ['/_matrix/', (message) => ({ errcode: 'M_UNRECOGNIZED', error: message })],
  ['/api/v1/', (message) => ({ success: false, error: message })],
  ['/api/', (message) => ({ error: true, reason: message })],
];

export function renderFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  const message = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path parameter is too long' : 'Invalid URL';
  const url = request.raw.url ?? '';
  const envelope = ENVELOPES.find(([prefix]) => url.startsWith(prefix))?.[1] ?? ((m: string) => ({ error: m }));
  // No hook runs before a route matched: helmet's headers are added here.
  addSecurityHeaders(request, reply);
  return reply.code(status).send(envelope(message));
}
