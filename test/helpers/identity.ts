// The typed identity-service client a Matrix client or homeserver would generate from
// /openapi/identity.json (openapi-fetch), every response checked against the spec; a real
// SMTP server that collects the mails; and a fake homeserver over HTTPS with a
// self-signed certificate.
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import createClient, { type Client } from 'openapi-fetch';
import { generate } from 'selfsigned';
import { SMTPServer } from 'smtp-server';
import type { paths } from '../../src/generated/identity.ts';
import specification from '../../src/generated/identity.spec.json' with { type: 'json' };
import { newEphemeralKeyPair, signJson, signingKeyFromSeed, decodeBase64 } from '../../src/identity/signing.ts';
import { ContractChecker } from './contract.ts';
import type { TestContext } from './app.ts';

export type IdentityClient = Client<paths>;
export const identityContract = new ContractChecker('identity', specification as never);

const contractMiddleware = identityContract.middleware();

export function identityClient(baseUrl: string, headers: Record<string, string> = {}): IdentityClient {
  const client = createClient<paths>({ baseUrl: `${baseUrl}/_matrix/identity`, headers, redirect: 'manual' });
  client.use(contractMiddleware);
  return client;
}

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

/** An SMTP server in the test process; `fail` makes it refuse the next messages. */
export async function startMailCatcher(t: TestContext) {
  const received: ReceivedMail[] = [];
  const waiters: Array<() => void> = [];
  const state = { fail: false };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (state.fail) return callback(new Error('mailbox unavailable'));
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        waiters.splice(0).forEach((wake) => wake());
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    state,
    /** The next mail to this address (waits up to 5 s). */
    async next(to: string, since = 0): Promise<ReceivedMail> {
      const deadline = Date.now() + 5000;
      for (;;) {
        const mail = received.slice(since).find((m) => m.to.some((address) => address.toLowerCase() === to.toLowerCase()));
        if (mail) return mail;
        if (Date.now() > deadline) throw new Error(`no mail to ${to}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
  };
}

/** The text/plain part of a received message, with quoted-printable soft breaks undone. */
export function plainText(mail: ReceivedMail): string {
  return mail.raw.replace(/=\r?\n/g, '').replace(/\r\n/g, '\n');
}

export interface OnbindCall {
  method: string;
  body: Record<string, unknown>;
}

/**
 * A homeserver on 127.0.0.1 with a self-signed certificate: OpenID userinfo (tokens in
 * `openIdTokens` → user), onbind recording, its signing key at /_matrix/key/v2/server.
 */
export async function startFakeHomeserver(t: TestContext) {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  } as never);
  const openIdTokens = new Map<string, string>();
  const onbind: OnbindCall[] = [];
  const keyPair = newEphemeralKeyPair();
  const signingKey = signingKeyFromSeed(decodeBase64(keyPair.privateSeed), 'ed25519:hs');
  const options = { onbindMethods: new Set(['PUT', 'POST']) };
  let serverName = '';

  const readBody = (request: IncomingMessage) =>
    new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });

  const server: Server = createServer({ key: pems.private, cert: pems.cert }, async (request, response) => {
    const url = new URL(request.url ?? '/', 'https://localhost');
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const body = await readBody(request);
    if (url.pathname === '/_matrix/federation/v1/openid/userinfo') {
      const user = openIdTokens.get(url.searchParams.get('access_token') ?? '');
      return user ? send(200, { sub: user }) : send(401, { errcode: 'M_UNKNOWN_TOKEN', error: 'Unknown token' });
    }
    if (url.pathname === '/_matrix/federation/v1/3pid/onbind') {
      if (!options.onbindMethods.has(request.method ?? '')) return send(405, { errcode: 'M_UNRECOGNIZED', error: 'method' });
      onbind.push({ method: request.method ?? '', body: JSON.parse(body) });
      return send(200, {});
    }
    if (url.pathname === '/_matrix/key/v2/server') {
      return send(200, { server_name: serverName, verify_keys: { [signingKey.keyId]: { key: signingKey.publicKey } }, valid_until_ts: Date.now() + 3600_000 });
    }
    send(404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  serverName = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    serverName,
    openIdTokens,
    onbind,
    options,
    /** The X-Matrix Authorization header of a request this homeserver sends to the identity server. */
    authorization(method: string, uri: string, destination: string, content: unknown): string {
      const signed = signJson({ method, uri, origin: serverName, destination_is: destination, content }, serverName, signingKey);
      return `X-Matrix origin=${serverName},key="${signingKey.keyId}",sig="${signed.signatures[serverName][signingKey.keyId]}"`;
    },
    async waitForOnbind(count: number): Promise<OnbindCall[]> {
      const deadline = Date.now() + 10_000;
      while (onbind.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} onbind calls, got ${onbind.length}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return onbind;
    },
  };
}

export interface RelayCall {
  authorization?: string;
  contentType?: string;
  body: { to: string; text: string };
}

/** The operator's SMS relay: records each POST; `status` is what it answers. */
export async function startSmsRelay(t: TestContext) {
  const calls: RelayCall[] = [];
  const state = { status: 202 };
  const read = (request: IncomingMessage) =>
    new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
  const server = createHttpServer(async (request, response) => {
    const body = JSON.parse(await read(request)) as RelayCall['body'];
    calls.push({ authorization: request.headers.authorization, contentType: request.headers['content-type'], body });
    response.writeHead(state.status, { 'content-type': 'application/json' });
    response.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/send`, calls, state };
}
