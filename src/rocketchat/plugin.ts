// The Rocket.Chat-compatible surface under /api/v1: its spec, its envelope
// `{"success":false,"error","errorType","details"}`, X-User-Id + X-Auth-Token auth.
import { parse as parseQuery } from 'node:querystring';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { operations } from '../generated/rocketchat.ts';
import specification from '../generated/rocketchat.spec.json' with { type: 'json' };
import { describeError } from '../http/errors.ts';
import { mountSpecification } from '../http/openapi.ts';
import type { Kernel } from '../kernel.ts';
import { createAdmin } from './admin.ts';
import { tooManyRequests } from './accounts.ts';
import { resolveRocketChatAuth, rocketChatSecurity } from './auth.ts';
import { NOT_LOGGED_IN, rcError, StatusEnvelopeError } from './errors.ts';
import { accountsHandlers } from './handlers/accounts.ts';
import { e2eHandlers } from './handlers/e2e.ts';
import { twoFactorHandlers } from './handlers/twofactor.ts';
import { ensureDefaultPermissions } from './permissions.ts';
import { checkLoginSecondFactor, TwoFactorError } from './twofactor.ts';
import { ApiError } from '../http/errors.ts';

/** A body that is not JSON: 400 in the envelope, with an errorType like every other refusal. */
const invalidJson = () => rcError('Body is not valid JSON', 'error-invalid-json');

/** Endpoints without X-User-Id + X-Auth-Token. */
const PUBLIC_ROUTES = new Set(['/login', '/users.2fa.sendEmailCode']);

interface AjvError {
  keyword: string;
  instancePath?: string;
  message?: string;
  params?: { missingProperty?: string };
}

function failureBody(request: FastifyRequest, error: unknown) {
  const described = describeError(error);
  if (described.validation) {
    const errors = described.validation as AjvError[];
    // Meteor check()'s text for a missing parameter, as the seeds show it.
    if (errors.some((e) => e.keyword === 'required')) {
      return { status: 400, body: { success: false, error: 'Match error: Expected string, got undefined' } };
    }
    const text = errors.map((e) => `${e.instancePath ? `${e.instancePath.slice(1).replace(/\//g, '.')} ` : ''}${e.message}`).join('\n ');
    return { status: 400, body: { success: false, error: `${text} [invalid-params]`, errorType: 'invalid-params' } };
  }
  if (described.status === 401 && described.code === NOT_LOGGED_IN) {
    const route = (request.routeOptions.url ?? request.url).replace(/^\/api\/v1/, '');
    return {
      status: 401,
      body: route.startsWith('/e2e.') ? { success: false, error: 'unauthorized' } : { status: 'error', message: 'You must be logged in to do this.' },
    };
  }
  if (described.code === 'rate-limited') {
    return {
      status: 429,
      body: { success: false, error: `${tooManyRequests(described.retryAfter ?? 1)} [error-too-many-requests]`, errorType: 'error-too-many-requests' },
    };
  }
  const body: Record<string, unknown> = { success: false, error: described.message };
  if (described.code && !described.fastifyCode) body.errorType = described.code;
  if (described.details) body.details = described.details;
  return { status: described.status, body };
}

export function sendRocketChatError(request: FastifyRequest, reply: FastifyReply, error: unknown) {
  const described = describeError(error);
  if (described.status >= 500) request.log.error({ err: error }, 'request failed');
  if (described.retryAfter) reply.header('retry-after', String(described.retryAfter));
  if (error instanceof StatusEnvelopeError) return reply.code(error.status).send(error.body);
  const { status, body } = failureBody(request, error);
  return reply.code(status).send(body);
}

export async function rocketChatPlugin(app: FastifyInstance, { kernel: k }: { kernel: Kernel }) {
  await ensureDefaultPermissions(k.db);
  if (k.config.initialAdmin) {
    const result = await createAdmin(k.db, k.config.initialAdmin.username, k.config.initialAdmin.password);
    if (result === 'created') k.log.info({ username: k.config.initialAdmin.username }, 'created the administrator');
  }
  // Every password login of every surface asks for the second factor when the account has one.
  k.secondFactor = async (user, code, method) => {
    try {
      await checkLoginSecondFactor(k, user, { code, method });
    } catch (error) {
      if (error instanceof TwoFactorError && error.status !== 429) throw new ApiError(401, error.message, error.code, error.details);
      throw error;
    }
  };

  app.setErrorHandler((error: FastifyError, request, reply) => sendRocketChatError(request, reply, error));
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ success: false, error: `No route ${request.method} ${request.url.split('?')[0]}` }),
  );
  // JSON only (415 otherwise); `curl --data '{…}'` sends JSON labelled as a form, so that is read too.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    const text = String(body).trim();
    if (!text.startsWith('{')) return done(null, parseQuery(text));
    try {
      done(null, JSON.parse(text));
    } catch {
      done(invalidJson(), undefined);
    }
  });
  // Rocket.Chat's RestClient labels body-less POSTs (logout, users.resetE2EKey…) as JSON, and
  // Rocket.Chat reads an empty JSON body as {}; anything else is fastify's own (poisoning-safe) parse.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, {});
    parseJson(request, text, (error: Error | null, value?: unknown) => (error ? done(invalidJson(), undefined) : done(null, value)));
  });

  app.addHook('onRequest', async (request) => resolveRocketChatAuth(k, request));
  // Rocket.Chat authenticates before it validates parameters.
  app.addHook('preValidation', async (request) => {
    const route = request.routeOptions.url;
    if (!route || request.is404 || PUBLIC_ROUTES.has(route.replace(/^\/api\/v1/, ''))) return;
    if (!request.auth) throw new ApiError(401, 'unauthorized', NOT_LOGGED_IN);
  });

  await mountSpecification<operations>(app, {
    specification: structuredClone(specification),
    // Form-labelled bodies are validated with the JSON body's schema.
    alsoAccept: ['application/x-www-form-urlencoded'],
    securityHandlers: rocketChatSecurity(),
    handlers: { ...accountsHandlers(k), ...e2eHandlers(k), ...twoFactorHandlers(k) },
  });
}
