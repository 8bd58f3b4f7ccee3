// `POST /api/v1/method.call/<method>`: Rocket.Chat's DDP methods over REST. The body's
// `message` is a DDP message; the answer wraps a DDP result (or error) the same way.
import type { AuthContext } from '../auth/sessions.ts';
import { ApiError } from '../http/errors.ts';
import type { Kernel } from '../kernel.ts';
import * as e2e from './e2e.ts';
import { rcError } from './errors.ts';
import * as twofactor from './twofactor.ts';

interface DdpMethodMessage {
  msg?: string;
  id?: string;
  method?: string;
  params?: unknown[];
}

/** A Meteor.Error as EJSON serializes it into a DDP result. */
function meteorError(error: string | number, reason?: string, details?: Record<string, unknown>) {
  return {
    isClientSafe: true,
    error,
    ...(reason ? { reason } : {}),
    message: reason ? `${reason} [${error}]` : `[${error}]`,
    ...(details ? { details } : {}),
    errorType: 'Meteor.Error',
  };
}

const stringParam = (params: unknown[], index: number) => (typeof params[index] === 'string' ? (params[index] as string) : '');

type Method = (k: Kernel, auth: AuthContext, params: unknown[], proof: twofactor.TwoFactorProof) => Promise<unknown>;

// A Map, so only these names dispatch (never `constructor`, `__proto__` … of an object).
const METHODS = new Map<string, Method>(Object.entries({
  '2fa:enable': (k, auth, _params, proof) => twofactor.enable(k, auth, proof),
  '2fa:validateTempToken': (k, auth, params) => twofactor.validateTempToken(k, auth, stringParam(params, 0)),
  '2fa:disable': (k, auth, params) => twofactor.disable(k, auth, stringParam(params, 0)),
  '2fa:regenerateCodes': (k, auth, params) => twofactor.regenerateCodes(k, auth, stringParam(params, 0)),
  '2fa:checkCodesRemaining': (k, auth) => twofactor.codesRemaining(k, auth),
  'e2e.fetchMyKeys': (k, auth) => e2e.fetchMyKeys(k, auth),
  'e2e.requestSubscriptionKeys': async (k, auth) => {
    await e2e.requestKeys(k, auth.user.id);
    return true;
  },
  'e2e.resetOwnE2EKey': async (k, auth, _params, proof) => {
    await twofactor.requireTwoFactor(k, auth.user, proof);
    await e2e.resetUserKeys(k, auth.user.id, auth.user.id);
    return true;
  },
} satisfies Record<string, Method>));

export async function callMethod(k: Kernel, auth: AuthContext, urlMethod: string, message: string, proof: twofactor.TwoFactorProof) {
  let ddp: DdpMethodMessage;
  try {
    ddp = JSON.parse(message) as DdpMethodMessage;
  } catch {
    throw new ApiError(400, 'Match error: Expected a DDP method message in "message"');
  }
  if (!ddp || typeof ddp !== 'object' || Array.isArray(ddp)) throw new ApiError(400, 'Match error: Expected a DDP method message in "message"');
  const id = typeof ddp.id === 'string' ? ddp.id : undefined;
  const params = Array.isArray(ddp.params) ? ddp.params : [];
  const name = typeof ddp.method === 'string' ? ddp.method : urlMethod;
  let outcome: { result?: unknown; error?: unknown };
  // Only our own registered methods dispatch (a Map: no `constructor` or `__proto__` to find).
  const method = name === urlMethod ? METHODS.get(name) : undefined;
  if (!method) throw rcError(`Method '${name}' not found`, 'method-not-found', undefined, 404);
  try {
    outcome = { result: await method(k, auth, params, proof) };
  } catch (error) {
    // Rate limits and server faults stay HTTP errors; a method's refusal is its DDP result.
    if (!(error instanceof ApiError) || error.status === 429 || error.status >= 500) throw error;
    const reason = error.code && error.message.endsWith(` [${error.code}]`) ? error.message.slice(0, -(error.code.length + 3)) : undefined;
    outcome = { error: meteorError(error.code ?? error.message, reason, error.details) };
  }
  return { message: JSON.stringify({ msg: 'result', id, ...outcome }), success: true as const };
}
