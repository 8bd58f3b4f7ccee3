// The Matrix identity service under /_matrix/identity (a Sydent drop-in): its spec, its
// envelope `{"errcode": "M_…", "error": "…"}` on every error, CORS like Sydent, and
// deprecated form-encoded bodies on v1.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { operations } from '../generated/identity.ts';
import specification from '../generated/identity.spec.json' with { type: 'json' };
import { describeError } from '../http/errors.ts';
import { mountSpecification } from '../http/openapi.ts';
import type { Kernel } from '../kernel.ts';
import { identitySecurity } from './auth.ts';
import { accountHandlers } from './handlers/accounts.ts';
import { associationHandlers } from './handlers/associations.ts';
import { inviteHandlers } from './handlers/invites.ts';
import { LINK_OPERATIONS, validationHandlers } from './handlers/validation.ts';
import { createIdentityService, type IdentityService } from './service.ts';
import { sendVerifyPage, type LinkMedium, type LinkOutcome } from './verify-page.ts';

export const IDENTITY_PREFIX = '/_matrix/identity';

/**
 * The operations limited per client address (IDENTITY_RATE_LIMIT_PER_IP a minute, counted in
 * memory), and the budget each draws from: the v1 and v2 forms of one action share a budget.
 */
const PER_ADDRESS_BUDGETS: Partial<Record<keyof operations, string>> = {
  bind: 'bind',
  bind3pid: 'bind',
  bindV2: 'bind',
  unbind: 'unbind',
  unbindV2: 'unbind',
  registerAccount: 'register',
  storeInvite: 'invite',
  storeInviteV2: 'invite',
  lookupV1: 'lookup',
  bulkLookup: 'lookup',
  lookupV2: 'lookup',
};

/** Browsers (Element) call the identity service directly. */
const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'access-control-allow-headers': '*',
};

const CODE_BY_STATUS: Record<number, string> = {
  401: 'M_UNAUTHORIZED',
  403: 'M_FORBIDDEN',
  404: 'M_NOT_FOUND',
  405: 'M_UNRECOGNIZED',
  413: 'M_TOO_LARGE',
  429: 'M_LIMIT_EXCEEDED',
};

interface MatrixErrorBody {
  errcode: string;
  error: string;
  [extra: string]: unknown;
}

/** Any thrown value as a Matrix error: ajv's errors become M_MISSING_PARAMS / M_INVALID_PARAM / M_NOT_JSON. */
export function matrixErrorOf(error: unknown): { status: number; body: MatrixErrorBody; retryAfter?: number } {
  const described = describeError(error);
  if (described.validation) {
    const missing = described.validation.filter((e) => e.keyword === 'required').map((e) => String((e.params as { missingProperty?: string }).missingProperty));
    if (missing.length > 0) return { status: 400, body: { errcode: 'M_MISSING_PARAMS', error: `Missing parameters: ${missing.join(',')}` } };
    const notObject = described.validationContext === 'body' && described.validation.some((e) => e.instancePath === '' && e.keyword === 'type');
    if (notObject) return { status: 400, body: { errcode: 'M_NOT_JSON', error: 'The request body must be a JSON object' } };
    const first = described.validation[0];
    const where = `${described.validationContext ?? 'request'}${first?.instancePath ?? ''}`.replace(/\//g, '.');
    return { status: 400, body: { errcode: 'M_INVALID_PARAM', error: `Invalid parameter ${where}: ${first?.message ?? 'invalid'}` } };
  }
  if (described.fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, body: { errcode: 'M_TOO_LARGE', error: described.message } };
  if (described.fastifyCode?.startsWith('FST_ERR_CTP') || (error instanceof SyntaxError && described.status === 400)) {
    return { status: described.status, body: { errcode: 'M_NOT_JSON', error: 'Content not JSON' } };
  }
  if (described.status >= 500 && !described.code?.startsWith('M_')) {
    return { status: 500, body: { errcode: 'M_UNKNOWN', error: 'Internal Server Error' } };
  }
  if (described.status === 429) {
    return {
      status: 429,
      body: { errcode: 'M_LIMIT_EXCEEDED', error: described.message, retry_after_ms: (described.retryAfter ?? 1) * 1000 },
      retryAfter: described.retryAfter,
    };
  }
  const errcode = described.code?.startsWith('M_') ? described.code : (CODE_BY_STATUS[described.status] ?? 'M_UNKNOWN');
  return { status: described.status, body: { ...described.details, errcode, error: described.message } };
}

export function sendIdentityError(request: FastifyRequest, reply: FastifyReply, error: unknown) {
  const { status, body, retryAfter } = matrixErrorOf(error);
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  if (retryAfter) reply.header('retry-after', String(retryAfter));
  return reply.code(status).type('application/json').send(body);
}

/** An error of a link a person opened (even a malformed one): the verify page, never a JSON body. */
async function sendLinkError(s: IdentityService, request: FastifyRequest, reply: FastifyReply, medium: LinkMedium, error: unknown) {
  const { status, body, retryAfter } = matrixErrorOf(error);
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  const outcome: LinkOutcome = status === 429 ? { kind: 'limited', retryAfter } : status >= 500 ? { kind: 'failed' } : { kind: 'refused', errcode: body.errcode };
  return sendVerifyPage(s, reply, medium, outcome);
}

/** The spec's path templates as patterns, to tell a wrong method (405) from an unknown path (404). */
function knownPaths(): Array<{ pattern: RegExp; methods: Set<string> }> {
  return Object.entries((specification as { paths: Record<string, Record<string, unknown>> }).paths).map(([template, item]) => ({
    pattern: new RegExp(`^${IDENTITY_PREFIX}${template.replace(/\{[^}]+\}/g, '[^/]+')}/?$`),
    methods: new Set(Object.keys(item).map((method) => method.toUpperCase())),
  }));
}

export async function identityPlugin(app: FastifyInstance, { kernel: k }: { kernel: Kernel }) {
  const service = await createIdentityService(k);
  app.addHook('onClose', async () => {
    service.closing = true;
    await Promise.allSettled([...service.background]);
    service.mailer.close();
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const linkMedium = (request.routeOptions.config as { verifyPage?: LinkMedium } | undefined)?.verifyPage;
    return linkMedium ? sendLinkError(service, request, reply, linkMedium, error) : sendIdentityError(request, reply, error);
  });
  const paths = knownPaths();
  app.setNotFoundHandler((request, reply) => {
    if (request.method === 'OPTIONS') return reply.code(200).send({});
    const path = request.url.split('?')[0];
    const known = paths.find((p) => p.pattern.test(path));
    if (known) return reply.code(405).send({ errcode: 'M_UNRECOGNIZED', error: `Unsupported method ${request.method}` });
    return reply.code(404).send({ errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
  });
  // Browsers (Element) call the identity service directly.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(CORS_HEADERS);
    done();
  });
  // JSON, and v1's deprecated form-encoded bodies; nothing else.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 512 * 1024 }, (_request, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  await mountSpecification<operations>(app, {
    specification: structuredClone(specification),
    // Form-labelled bodies are validated with the JSON body's schema.
    alsoAccept: ['application/x-www-form-urlencoded'],
    securityHandlers: identitySecurity(service),
    handlers: { ...accountHandlers(service), ...validationHandlers(service), ...associationHandlers(service), ...inviteHandlers(service) },
    routeExtras: {
      // Counted on arrival, before the body is read or validated.
      ...Object.fromEntries(
        Object.entries(PER_ADDRESS_BUDGETS).map(([operation, budget]) => [
          operation,
          { onRequest: async (request: FastifyRequest) => service.limiters.perAddress.consume(`${budget}:${request.ip}`) },
        ]),
      ),
      // Links a person opens: their errors are the verify page (see sendLinkError).
      ...Object.fromEntries(Object.entries(LINK_OPERATIONS).map(([operation, medium]) => [operation, { config: { verifyPage: medium } }])),
    },
  });
}
