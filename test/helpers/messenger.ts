// The typed messenger client a user would generate from /openapi/messenger.json
// (openapi-fetch), with every response checked against the spec.
import { randomUUID } from 'node:crypto';
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from '../../src/generated/messenger.ts';
import specification from '../../src/generated/messenger.spec.json' with { type: 'json' };
import { ContractChecker } from './contract.ts';

export type MessengerClient = Client<paths>;
export type DeviceInfo = components['schemas']['DeviceInfo'];
export const messengerContract = new ContractChecker('messenger', specification as never);

const contractMiddleware = messengerContract.middleware();

export function messengerClient(baseUrl: string, headers: Record<string, string> = {}): MessengerClient {
  const client = createClient<paths>({ baseUrl: `${baseUrl}/api`, headers });
  client.use(contractMiddleware);
  return client;
}

export function deviceInfo(name = 'Test device'): DeviceInfo {
  return { id: randomUUID(), name, model: 'tap', transport: 'none' };
}

export const basicAuth = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

export interface TestUser {
  id: number;
  username: string;
  password: string;
  token: string;
  sessionId: string;
  /** A client that sends this user's Bearer token. */
  api: MessengerClient;
}

let counter = 0;

/** Registers a user through the API, as a client would. */
export async function registerUser(baseUrl: string, fields: Partial<{ name: string; username: string; password: string }> = {}): Promise<TestUser> {
  counter += 1;
  const username = fields.username ?? `user${counter}x${randomUUID().slice(0, 6)}`;
  const password = fields.password ?? 'correct horse';
  const { data, error, response } = await messengerClient(baseUrl).POST('/users', {
    body: { name: fields.name ?? `Test User`, username, password, deviceInfo: deviceInfo() },
  });
  if (!data) throw new Error(`registration failed: ${response.status} ${JSON.stringify(error)}`);
  const session = data.deviceSessions[0];
  return {
    id: data.info.id,
    username: data.info.username,
    password,
    token: session.accessToken,
    sessionId: session.id,
    api: messengerClient(baseUrl, { authorization: `Bearer ${session.accessToken}` }),
  };
}
