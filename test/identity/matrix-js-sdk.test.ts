// The Matrix JS SDK (matrix-js-sdk 37.5.0, the last release that runs on Node 20), unmodified,
// against Parley's identity service: registration through OpenID, terms, email and phone
// tokens, and the hashed lookups it builds bulk and single lookups on.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient, SERVICE_TYPES } from 'matrix-js-sdk';
import t from 'tap';
import { loadConfig } from '../../src/config.ts';
import { startApp } from '../helpers/app.ts';
import { identityClient, plainText, startFakeHomeserver, startMailCatcher, startSmsRelay } from '../helpers/identity.ts';

const termsDir = await mkdtemp(path.join(tmpdir(), 'parley-terms-'));
const termsPath = path.join(termsDir, 'terms.yaml');
await writeFile(
  termsPath,
  `master_version: "1.0"
docs:
  terms_of_service:
    version: "1.0"
    langs:
      en: { name: Terms of Service, url: "https://example.org/terms-1.0-en.html" }
`,
);
const mail = await startMailCatcher(t);
const relay = await startSmsRelay(t);
const homeserver = await startFakeHomeserver(t);
const defaults = loadConfig({});
const { baseUrl } = await startApp(t, {
  mail: { ...defaults.mail, smtpUrl: mail.url },
  sms: { webhookUrl: relay.url },
  identity: { ...defaults.identity, serverName: 'id.test', termsPath, federationVerifyTls: false },
  // The fake homeserver is on loopback, which the outbound policy refuses unless allowlisted.
  outboundIpAllowlist: ['127.0.0.0/8'],
});

// A client whose homeserver is not used here: every call below goes to the identity server.
const client = createClient({ baseUrl: 'http://127.0.0.1:9', idBaseUrl: baseUrl });
const userId = `@sdk:${homeserver.serverName}`;
/** The identity access token registerWithIdentityServer gave. */
let token = '';

t.test('registerWithIdentityServer, getTerms, agreeToTerms', async (t) => {
  homeserver.openIdTokens.set('sdk-openid', userId);
  const registered = await client.registerWithIdentityServer({ access_token: 'sdk-openid', token_type: 'Bearer', matrix_server_name: homeserver.serverName, expires_in: 3600 });
  t.type(registered.token, 'string');
  const terms = await client.getTerms(SERVICE_TYPES.IS, baseUrl);
  const url = (terms.policies.terms_of_service as unknown as { en: { url: string } }).en.url;
  t.equal(url, 'https://example.org/terms-1.0-en.html');
  t.same(await client.agreeToTerms(SERVICE_TYPES.IS, baseUrl, registered.token, [url]), {});
  token = registered.token;
});

t.test('requestEmailToken and requestMsisdnToken (send_attempt as a string), submitMsisdnToken, then lookups', async (t) => {
  const api = identityClient(baseUrl, { authorization: `Bearer ${token}` });

  const email = 'Sdk.Person@Example.test';
  const before = mail.received.length;
  const emailSession = await client.requestEmailToken(email, 'sdk_email', 1, undefined, token);
  t.type(emailSession.sid, 'string');
  const link = /(https?:\/\/\S+\/validate\/email\/submitToken\?\S+)/.exec(plainText(await mail.next(email, before)))![1];
  // The person clicks the link in the mail.
  const page = await fetch(`${baseUrl}${new URL(link).pathname}${new URL(link).search}`);
  t.match(await page.text(), /Verification successful/);
  t.equal((await api.POST('/v2/3pid/bind', { body: { sid: emailSession.sid, client_secret: 'sdk_email', mxid: userId } })).response.status, 200);

  const phoneSession = await client.requestMsisdnToken('GB', '07700 900246', 'sdk_phone', 1, undefined, token);
  t.same({ msisdn: phoneSession.msisdn, intl_fmt: phoneSession.intl_fmt }, { msisdn: '447700900246', intl_fmt: '+44 7700 900246' });
  const code = /\d{6}/.exec(relay.calls.at(-1)!.body.text)![0];
  t.same(await client.submitMsisdnToken(phoneSession.sid, 'sdk_phone', code, token), { success: true });
  t.equal((await api.POST('/v2/3pid/bind', { body: { sid: phoneSession.sid, client_secret: 'sdk_phone', mxid: userId } })).response.status, 200);

  const hashed = await client.identityHashedLookup(
    [
      ['sdk.person@example.test', 'email'],
      ['447700900246', 'msisdn'],
      ['nobody@example.test', 'email'],
    ],
    token,
  );
  t.same(hashed.sort((a, b) => a.address.localeCompare(b.address)), [
    { address: '447700900246', mxid: userId },
    { address: 'sdk.person@example.test', mxid: userId },
  ]);
  const bulk = await client.bulkLookupThreePids(
    [
      ['msisdn', '447700900246'],
      ['email', 'sdk.person@example.test'],
    ],
    token,
  );
  t.same(bulk.threepids.length, 2);
  t.same(await client.lookupThreePid('msisdn', '447700900246', token), { address: '447700900246', medium: 'msisdn', mxid: userId });
});
