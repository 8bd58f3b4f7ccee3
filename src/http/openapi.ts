// Typing handlers from the generated operation types, and mounting a surface's spec
// with fastify-openapi-glue.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import openapiGlue from 'fastify-openapi-glue';

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
}

/**
 * Registers every operation of the spec. A handler that returns nothing answers 200
 * with an empty body (the messenger's "OK"); an operation without a handler fails the
 * start-up, so a spec cannot promise what the server does not do.
 */
export async function mountSpecification<Operations>(instance: FastifyInstance, options: MountOptions<Operations>) {
  const handlers = options.handlers as Record<string, Handler<unknown>>;
  const extras = (options.routeExtras ?? {}) as Record<string, RouteExtras>;
  await instance.register(openapiGlue, {
    specification: options.specification,
    securityHandlers: options.securityHandlers,
    operationResolver: ((operationId: string) => {
      const handler = handlers[operationId];
      if (!handler) throw new Error(`No handler for operation ${operationId}`);
      return {
        ...extras[operationId],
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
