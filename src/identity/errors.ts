// Matrix errors: an HTTP status, an `errcode` and a message; extra keys (mxid,
// lookup_pepper …) travel in details and are merged into the envelope.
import { ApiError } from '../http/errors.ts';

export const matrixError = (status: number, errcode: string, message: string, extra?: Record<string, unknown>) =>
  new ApiError(status, message, errcode, extra);

export const missingParams = (names: string[]) => matrixError(400, 'M_MISSING_PARAMS', `Missing parameters: ${names.join(',')}`);
export const invalidParam = (message: string) => matrixError(400, 'M_INVALID_PARAM', message);
