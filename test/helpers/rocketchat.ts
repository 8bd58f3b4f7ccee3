// The typed Rocket.Chat-surface client a user would generate from /openapi/rocketchat.json
// (openapi-fetch), every response checked against the spec; plus a raw call that keeps
// the exact response text for byte-for-byte comparisons with the seeds.
import createClient, { type Client } from 'openapi-fetch';
import { generate } from 'otplib';
import type { paths } from '../../src/generated/rocketchat.ts';
import specification from '../../src/generated/rocketchat.spec.json' with { type: 'json' };
import { ContractChecker } from './contract.ts';

export type RocketChatClient = Client<paths>;
export const rocketchatContract = new ContractChecker('rocketchat', specification as never);

const contractMiddleware = rocketchatContract.middleware();

export interface RocketChatCredentials {
  userId: string;
  authToken: string;
}

export const authHeaders = (c: RocketChatCredentials) => ({ 'x-user-id': c.userId, 'x-auth-token': c.authToken });

export function rocketchatClient(baseUrl: string, credentials?: RocketChatCredentials, headers: Record<string, string> = {}): RocketChatClient {
  const client = createClient<paths>({ baseUrl: `${baseUrl}/api/v1`, headers: { ...(credentials ? authHeaders(credentials) : {}), ...headers } });
  client.use(contractMiddleware);
  return client;
}

export interface RawAnswer {
  status: number;
  text: string;
  json: unknown;
}

/** One request with fetch; the body is checked against the spec when the path is in it. */
export async function rawCall(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: keyof paths | string,
  options: { headers?: Record<string, string>; body?: unknown; rawBody?: string } = {},
): Promise<RawAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(options.body);
  }
  const response = await fetch(`${baseUrl}/api/v1${path}`, { method, headers, body });
  const text = await response.text();
  const json = text ? JSON.parse(text) : undefined;
  const template = path.split('?')[0];
  if (template in (specification as { paths: object }).paths) rocketchatContract.check(template, method, response.status, json);
  return { status: response.status, text, json };
}

/** Logs in through /api/v1/login; throws on failure. */
export async function login(baseUrl: string, user: string, password: string, code?: string): Promise<RocketChatCredentials> {
  const { data, error, response } = await rocketchatClient(baseUrl).POST('/login', { body: { user, password, ...(code ? { code } : {}) } });
  if (!data) throw new Error(`login failed: ${response.status} ${JSON.stringify(error)}`);
  return { userId: data.data.userId, authToken: data.data.authToken };
}

/** The TOTP code of `secret` `steps` 30-second steps from now. */
export function totpCode(secret: string, steps = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) + steps * 30 });
}
