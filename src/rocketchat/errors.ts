// Rocket.Chat's error shapes: Meteor.Error messages `"<reason> [<code>]"`, and the
// `{status:"error",…}` body of /login.
import { ApiError } from '../http/errors.ts';

/** A Meteor.Error: `error` is "<reason> [<code>]", `errorType` the code. */
export function rcError(reason: string, code: string, details?: Record<string, unknown>, status = 400): ApiError {
  return new ApiError(status, reason ? `${reason} [${code}]` : `[${code}]`, code, details);
}

/** No valid X-User-Id + X-Auth-Token; the surface picks the 401 body by endpoint. */
export const NOT_LOGGED_IN = 'not-logged-in';
export const notLoggedIn = () => new ApiError(401, 'unauthorized', NOT_LOGGED_IN);

export const notAllowed = () => rcError('Not allowed', 'error-not-allowed');

/** A failure rendered as `{"status":"error","error":…,"message":…,"details":…}` (the /login shape). */
export class StatusEnvelopeError extends ApiError {
  constructor(
    status: number,
    readonly body: { status: 'error'; error?: string; message: string; details?: Record<string, unknown> },
    retryAfter?: number,
  ) {
    super(status, body.message, body.error, body.details, retryAfter);
  }
}
