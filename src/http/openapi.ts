// Typing handlers from the generated operation types, and mounting a surface's spec
// with fastify-openapi-glue.
import { errorCodes, type FastifyInstance, type FastifyReply, type FastifyRequest, type RouteOptions } from 'fastify';
import openapiGlue from 'fastify-openapi-glue';
import './openapi-meta-schema.ts';
import { ApiError, badRequest } from './errors.ts';

type NeverToEmpty<T> = [T] extends [never] ? Record<string, never> : [T] extends [undefined] ? Record<string, never> : T;
type ParameterPart<Op, K extends string> = Op extends { parameters: infer P }
  ? K extends keyof P
    ? NeverToEmpty<NonNullable<P[K]>>
    : Record<string, never>
  : Record<string, never>;

type ContentOf<T> = T extends { content: infer C }
  ? C extends { 'application/json': infer J }
    ? J
    : C extends { 'text/plain': infer S }
      ? S
      : C extends { 'text/html': infer H }
        ? H
        : unknown
  : void;

type SuccessStatus = 200 | 201 | 202 | 204 | 302;

/** The JSON body of an operation's request (a stream for binary uploads). */
export type BodyOf<Op> = Op extends { requestBody?: infer B }
  ? NonNullable<B> extends { content: infer C }
    ? C extends { 'application/json': infer J }
      ? J
      : NodeJS.ReadableStream
    : unknown
  : unknown;

/** The union of an operation's success bodies; void for an empty 200. */
export type ReplyOf<Op> = Op extends { responses: infer R }
  ? { [S in keyof R & SuccessStatus]: ContentOf<R[S]> }[keyof R & SuccessStatus]
  : never;

export type RequestOf<Op> = FastifyRequest<{
  Body: BodyOf<Op>;
  Params: ParameterPart<Op, 'path'>;
  Querystring: ParameterPart<Op, 'query'>;
  Headers: ParameterPart<Op, 'header'>;
}>;

export type Handler<Op> = (request: RequestOf<Op>, reply: FastifyReply) => Promise<ReplyOf<Op> | FastifyReply>;

/** One handler per operationId of a surface's generated `operations` interface. */
export type Handlers<Operations> = { [Id in keyof Operations]: Handler<Operations[Id]> };

/** Extra fastify route options an operation needs (body limit, hooks). */
export type RouteExtras = Partial<Pick<RouteOptions, 'bodyLimit' | 'onRequest' | 'preParsing' | 'config'>>;

export interface MountOptions<Operations> {
  specification: object;
  handlers: Partial<Handlers<Operations>>;
  securityHandlers: Record<string, (request: FastifyRequest, reply: FastifyReply, scopes: string[]) => Promise<void>>;
  routeExtras?: Partial<Record<keyof Operations, RouteExtras>>;
  /**
   * Content types read like JSON bodies and validated against the same schema (clients
   * that label JSON or forms as application/x-www-form-urlencoded). Undocumented types get 415.
   */
  alsoAccept?: string[];
}

/**
 * Registers every operation of the spec. A handler that returns nothing answers 200
 * with an empty body (the messenger's "OK"); an operation without a handler fails the
 * start-up, so a spec cannot promise what the server does not do.
 */
export async function mountSpecification<Operations>(instance: FastifyInstance, options: MountOptions<Operations>) {
  const handlers = options.handlers as Record<string, Handler<unknown>>;
  const extras = (options.routeExtras ?? {}) as Record<string, RouteExtras>;
  const specification = acceptAlso(withoutRouteAliases(options.specification), options.alsoAccept ?? []);
  const bodies = documentedBodies(specification);
  refuseResponseOnlyTypes(instance, specification, bodies);
  instance.addHook('preValidation', rejectNulCharacters);
  await instance.register(openapiGlue, {
    specification,
    securityHandlers: options.securityHandlers,
    operationResolver: ((operationId: string) => {
      const handler = handlers[operationId];
      if (!handler) throw new Error(`No handler for operation ${operationId}`);
      return {
        ...extras[operationId],
        ...(bodies.has(operationId) ? { preValidation: checkBody(bodies.get(operationId)!) } : {}),
        handler: async (request: FastifyRequest, reply: FastifyReply) => {
          const result = await handler(request as never, reply);
          if (result === reply || reply.sent) return reply;
          if (result === undefined) return reply.code(reply.statusCode || 200).send();
          return result;
        },
      };
    }) as never,
  });
}

interface DocumentedBody {
  required: boolean;
  contentTypes: Set<string>;
}

type SpecShape = {
  paths?: Record<string, Record<string, { operationId?: string; requestBody?: RequestBodyShape; 'x-same-route-as'?: string }>>;
  components?: { requestBodies?: Record<string, RequestBodyShape> };
};
type RequestBodyShape = { required?: boolean; $ref?: string; content?: Record<string, unknown> };

function resolveBody(spec: SpecShape, body: RequestBodyShape | undefined): RequestBodyShape | undefined {
  return body?.$ref ? spec.components?.requestBodies?.[body.$ref.split('/').pop()!] : body;
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/**
 * The spec without the operations marked `x-same-route-as: <operationId>`: they document
 * another spelling of that operation's path (`/users/` for `/users`, as a seed writes it),
 * which its route already serves since the router ignores a trailing slash; registering it
 * again would be a duplicate route. A mark that names anything else fails the start-up.
 */
function withoutRouteAliases(specification: object): object {
  const marked = Object.entries((specification as SpecShape).paths ?? {}).flatMap(([path, item]) =>
    Object.keys(item ?? {}).filter((method) => HTTP_METHODS.has(method) && item[method]?.['x-same-route-as']).map((method) => ({ path, method })),
  );
  if (marked.length === 0) return specification;
  const spec = structuredClone(specification) as SpecShape;
  const paths = spec.paths!;
  for (const { path, method } of marked) {
    const target = paths[path][method]['x-same-route-as'];
    const canonical = path.length > 1 ? path.replace(/\/$/, '') : path;
    if (canonical === path || paths[canonical]?.[method]?.operationId !== target) {
      throw new Error(`${method.toUpperCase()} ${path}: x-same-route-as ${target} is not ${method.toUpperCase()} ${canonical}`);
    }
    delete paths[path][method];
    if (!Object.keys(paths[path]).some((key) => HTTP_METHODS.has(key))) delete paths[path];
  }
  return spec;
}

/** A copy of the spec in which every JSON request body also accepts the given content types. */
function acceptAlso(specification: object, contentTypes: string[]): object {
  if (contentTypes.length === 0) return specification;
  const spec = structuredClone(specification) as SpecShape;
  const bodies = [
    ...Object.values(spec.paths ?? {}).flatMap((item) => Object.values(item ?? {}).map((operation) => operation?.requestBody)),
    ...Object.values(spec.components?.requestBodies ?? {}),
  ];
  for (const body of bodies) {
    const json = body?.content?.['application/json'];
    if (!json) continue;
    for (const type of contentTypes) body!.content![type] ??= json;
  }
  return spec;
}

/**
 * fastify-openapi-glue warns "ContentTypeParser for '<type>' not found" for every media type
 * of the spec, responses included (text/plain, text/html pages): a request of such a type is
 * refused with the same 415 fastify gives when no parser exists, so the warning has no cause.
 */
function refuseResponseOnlyTypes(instance: FastifyInstance, specification: object, bodies: Map<string, DocumentedBody>) {
  const spec = specification as SpecShape & { components?: { responses?: Record<string, { content?: object }> } };
  const requestTypes = new Set([...bodies.values()].flatMap((body) => [...body.contentTypes]));
  const responseTypes = new Set<string>();
  for (const item of Object.values(spec.paths ?? {})) {
    for (const operation of Object.values(item ?? {}) as Array<{ responses?: Record<string, { $ref?: string; content?: object }> }>) {
      for (const response of Object.values(operation?.responses ?? {})) {
        const resolved = response.$ref ? spec.components?.responses?.[response.$ref.split('/').pop()!] : response;
        for (const type of Object.keys(resolved?.content ?? {})) responseTypes.add(type);
      }
    }
  }
  for (const type of responseTypes) {
    if (requestTypes.has(type) || instance.hasContentTypeParser(type)) continue;
    instance.addContentTypeParser(type, (_request, _payload, done) => done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(), undefined));
  }
}

/** operationId → whether its body is required and which content types the spec documents for it. */
function documentedBodies(specification: object): Map<string, DocumentedBody> {
  const spec = specification as SpecShape;
  const bodies = new Map<string, DocumentedBody>();
  for (const item of Object.values(spec.paths ?? {})) {
    for (const operation of Object.values(item ?? {})) {
      const body = resolveBody(spec, operation?.requestBody);
      if (!operation?.operationId || !body) continue;
      bodies.set(operation.operationId, { required: body.required === true, contentTypes: new Set(Object.keys(body.content ?? {})) });
    }
  }
  return bodies;
}

/**
 * fastify validates a body only against the schema of its Content-Type: a body of an
 * undocumented type (parsed by another surface's parser) or a missing required body would
 * reach the handler unchecked.
 */
function checkBody(documented: DocumentedBody) {
  return async (request: FastifyRequest) => {
    if (request.body === undefined || request.body === null) {
      if (documented.required) throw badRequest('A request body is required');
      return;
    }
    const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (!documented.contentTypes.has(type)) {
      throw new ApiError(415, `Unsupported Content-Type "${type}": send ${[...documented.contentTypes].join(' or ')}`);
    }
  };
}

/** PostgreSQL text cannot hold U+0000: refuse it at the door rather than fail in the database. */
async function rejectNulCharacters(request: FastifyRequest) {
  if (containsNul(request.body) || containsNul(request.query) || containsNul(request.params)) {
    throw badRequest('Text must not contain NUL (U+0000) characters');
  }
}

function containsNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > 32 || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((item) => containsNul(item, depth + 1));
  if (Buffer.isBuffer(value) || typeof (value as { pipe?: unknown }).pipe === 'function') return false; // uploads
  return Object.entries(value).some(([key, item]) => key.includes('\u0000') || containsNul(item, depth + 1));
}
