// Security headers on every response (helmet's, set by a hook added before any route): no
// sniffing, no framing, no referrer, and a Content-Security-Policy that lets the web client
// (web/dist: module scripts, stylesheets, the realtime WebSocket) load only from this origin.
// The Swagger UI at /docs gets its own policy; uploads set their sandbox policy themselves.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import helmet from 'helmet';

/** What the built web client needs: its own scripts and styles, previews and the 2FA QR code (data:). */
export const webClientCsp = {
  'default-src': ["'self'"],
  'base-uri': ["'none'"],
  // 'self' covers ws:/wss: to this host (CSP Level 3) for /ws/<session>.
  'connect-src': ["'self'"],
  'font-src': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'img-src': ["'self'", 'data:', 'blob:'],
  'media-src': ["'self'", 'blob:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'"],
  'worker-src': ["'self'"],
};

const headers = {
  contentSecurityPolicy: { useDefaults: false, directives: webClientCsp },
  frameguard: { action: 'deny' as const },
  referrerPolicy: { policy: 'no-referrer' as const },
};

const setHeaders = helmet(headers);

/** helmet's headers, worked out once (they never vary by request). */
const headerValues: Record<string, string> = (() => {
  const found: Record<string, string> = {};
  const response = { setHeader: (name: string, value: string) => (found[name.toLowerCase()] = value), removeHeader: () => {} };
  setHeaders({} as never, response as never, () => {});
  return found;
})();

/**
 * Every route, and every not-found and error answer. Not @fastify/helmet: it rebuilds helmet's
 * middleware, parsing the whole policy, on every request (5 % of a cached identity lookup's
 * CPU in the npm run bench profile); these headers are the same for every answer. Set through
 * reply.headers, fastify passes them to one writeHead: 60–65 → ~50 µs of CPU per request
 * against 12 raw setHeader calls (bare fastify, measured side by side).
 */
export function installSecurityHeaders(app: FastifyInstance): void {
  // fastify's own header map, not the raw response's: one writeHead at the end, and any
  // header a route sets later (uploads' sandbox, the docs' and verify page's policies) wins.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headerValues);
    done();
  });
}

/** The same headers on an answer no hook runs for (fastify's frameworkErrors: an undecodable URL). */
export function addSecurityHeaders(request: FastifyRequest, reply: FastifyReply): void {
  setHeaders(request.raw, reply.raw, () => {});
}

/**
 * The Swagger UI page and its assets (@fastify/swagger-ui `staticCSP`): its bundle and
 * initializer are files (no inline script), it styles elements inline and draws icons as data: URLs.
 */
export const docsCsp = [
  "default-src 'self'",
  "base-uri 'self'",
  "connect-src 'self'",
  "font-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self' 'unsafe-inline'",
].join('; ');

/**
 * Server-rendered pages from the deployer's templates (the identity service's verify page):
 * no script at all, but the templates style themselves with an inline `<style>` as Sydent's do.
 */
export const templatePageCsp = [
  "default-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "img-src 'self' data: https:",
  "style-src 'unsafe-inline'",
].join('; ');
