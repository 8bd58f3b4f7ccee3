// One error type for every surface: domain code throws it, each surface's plugin
// renders it in its own envelope (messenger, Rocket.Chat, Matrix).
import type { FastifyError } from 'fastify';
import * as openapiGlue from 'fastify-openapi-glue';

// Its typings declare SecurityError as a type only; the module exports the class.
const { SecurityError } = openapiGlue as unknown as { SecurityError: new (...args: never[]) => Error };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** A machine code: Rocket.Chat `errorType`, Matrix `errcode`. */
    readonly code?: string,
    readonly details?: Record<string, unknown>,
    /** Seconds, for 429 answers. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, code?: string) => new ApiError(400, message, code);
export const unauthorized = (message = 'Unauthorized', code?: string) => new ApiError(401, message, code);
export const forbidden = (message = 'Forbidden', code?: string) => new ApiError(403, message, code);
export const notFound = (message = 'Not found', code?: string) => new ApiError(404, message, code);
export const conflict = (message: string, code?: string) => new ApiError(409, message, code);
export const tooLarge = (message = 'Payload too large') => new ApiError(413, message);

/** What any thrown value means for the client: a status below 500 for the caller's mistakes. */
export interface DescribedError {
  status: number;
  message: string;
  code?: string;
  details?: Record<string, unknown>;
  retryAfter?: number;
  /** ajv's errors, when the request did not match the spec. */
  validation?: FastifyError['validation'];
  validationContext?: string;
  /** fastify's own error code (FST_ERR_CTP_INVALID_JSON …), when fastify raised it. */
  fastifyCode?: string;
}

export function describeError(error: unknown): DescribedError {
  if (error instanceof ApiError) {
    return { status: error.status, message: error.message, code: error.code, details: error.details, retryAfter: error.retryAfter };
  }
  const fastifyError = error as Partial<FastifyError> & { name?: string };
  if (fastifyError?.validation) {
    return {
      status: 400,
      message: fastifyError.message ?? 'Invalid request',
      validation: fastifyError.validation,
      validationContext: fastifyError.validationContext,
    };
  }
  // fastify-openapi-glue's SecurityError: no security scheme accepted the request.
  if (error instanceof SecurityError) {
    const causes = ((error as { errors?: unknown[] }).errors ?? []).filter((e): e is ApiError => e instanceof ApiError);
    // A rate limit or a refused second factor says more than "no scheme matched".
    const cause = causes.find((e) => e.status !== 401) ?? causes[0];
    return cause ? describeError(cause) : { status: 401, message: 'Unauthorized' };
  }
  const status = fastifyError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, message: fastifyError.message ?? 'Bad request', fastifyCode: fastifyError.code };
  }
  return { status: 500, message: 'Internal server error' };
}
