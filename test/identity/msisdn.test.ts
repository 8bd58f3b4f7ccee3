// Phone numbers (msisdn) as Sydent has them: a code texted through the operator's SMS relay
// (a real HTTP server here) or written to the outbox, submitToken, bind, and the v1 and
// hashed v2 lookups of the E.164 number.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { loadConfig } from '../../src/config.ts';
import { startApp } from '../helpers/app.ts';
import { identityClient, startFakeHomeserver, startSmsRelay } from '../helpers/identity.ts';

const relay = await startSmsRelay(t);
const defaults = loadConfig({});
const limits = { perAddress: 3, perClient: 40, windowMs: 60_000 };
// The relay is on loopback and no OUTBOUND_IP_ALLOWLIST is set: the operator's relay is not a user-chosen destination.
const relayed = await startApp(t, {
  sms: { webhookUrl: relay.url, webhookToken: 'relay-secret' },
  // Binds name a homeserver this server never contacts: onbind is refused at once.
  identity: { ...defaults.identity, serverName: 'id.test', emailRateLimit: limits, federationAllowedServers: ['homeserver.invalid'] },
  guessRateLimit: { max: 50, windowMs: 60_000 },
});
const api = identityClient(relayed.baseUrl);
// The second server: no SMS_WEBHOOK_URL, and a homeserver for v2 accounts.
const homeserver = await startFakeHomeserver(t);
const outboxed = await startApp(t, {
  identity: { ...defaults.identity, serverName: 'id.test', federationVerifyTls: false, emailRateLimit: { ...limits, perClient: 4 } },
  // The fake homeserver (OpenID userinfo) is on loopback.
  outboundIpAllowlist: ['127.0.0.0/8'],
});
const anonymous = identityClient(outboxed.baseUrl);

async function account(name: string) {
  homeserver.openIdTokens.set(`openid-${name}`, `@${name}:${homeserver.serverName}`);
  const registered = await anonymous.POST('/v2/account/register', { body: { access_token: `openid-${name}`, matrix_server_name: homeserver.serverName } });
  return { api: identityClient(outboxed.baseUrl, { authorization: `Bearer ${registered.data!.token}` }), userId: `@${name}:${homeserver.serverName}` };
}

const codeIn = (text: string) => /\b(\d{6})\b/.exec(text)![1];

t.test('v1: the code goes to the relay, submitToken, bind, lookups', async (t) => {
  const requested = await api.POST('/api/v1/validate/msisdn/requestToken', {
    body: { client_secret: 'phone_secret', country: 'GB', phone_number: '07700 900001', send_attempt: 1 },
  });
  t.equal(requested.response.status, 200);
  t.same({ msisdn: requested.data?.msisdn, intl_fmt: requested.data?.intl_fmt }, { msisdn: '447700900001', intl_fmt: '+44 7700 900001' }, 'E.164 without + and the international form');
  const sid = requested.data!.sid;
  const call = relay.calls.at(-1)!;
  t.equal(call.authorization, 'Bearer relay-secret', 'SMS_WEBHOOK_TOKEN as a bearer token');
  t.match(call.contentType, /^application\/json/);
  t.equal(call.body.to, '+447700900001', 'to: E.164 with +');
  t.match(call.body.text, /^Your code is \d{6}$/, 'the SMS template');
  const code = codeIn(call.body.text);

  const wrong = await api.POST('/api/v1/validate/msisdn/submitToken', { body: { sid, client_secret: 'phone_secret', token: code === '000000' ? '111111' : '000000' } });
  t.same(wrong.data, { success: false, errcode: 'M_NO_VALID_SESSION', error: 'The token does not match this session' });
  const early = await api.POST('/api/v1/3pid/bind', { body: { sid, client_secret: 'phone_secret', mxid: '@phone:homeserver.invalid' } });
  t.equal(early.error?.errcode, 'M_SESSION_NOT_VALIDATED');
  const submitted = await api.POST('/api/v1/validate/msisdn/submitToken', { body: { sid, client_secret: 'phone_secret', token: code } });
  t.same(submitted.data, { success: true });
  const emailSubmit = await api.POST('/api/v1/validate/email/submitToken', { body: { sid, client_secret: 'phone_secret', token: code } });
  t.equal(emailSubmit.data?.errcode, 'M_NO_VALID_SESSION', 'a phone session is not validated through the email endpoint');

  const validated = await api.GET('/api/v1/3pid/getValidated3pid', { params: { query: { sid, client_secret: 'phone_secret' } } });
  t.same({ medium: validated.data?.medium, address: validated.data?.address }, { medium: 'msisdn', address: '447700900001' });
  const bound = await api.POST('/api/v1/3pid/bind', { body: { sid, client_secret: 'phone_secret', mxid: '@phone:homeserver.invalid' } });
  t.equal(bound.response.status, 200);
  t.same({ medium: bound.data?.medium, address: bound.data?.address }, { medium: 'msisdn', address: '447700900001' });

  const lookup = await api.GET('/api/v1/lookup', { params: { query: { medium: 'msisdn', address: '447700900001' } } });
  t.equal(lookup.data?.mxid, '@phone:homeserver.invalid', 'v1 lookup by msisdn');
  const bulk = await api.POST('/api/v1/bulk_lookup', { body: { threepids: [['msisdn', '447700900001'], ['msisdn', '447700900002']] } });
  t.same(bulk.data, { threepids: [['msisdn', '447700900001', '@phone:homeserver.invalid']] });
});

t.test('the texted code also works as a link (GET), answered with the page', async (t) => {
  const requested = await api.POST('/api/v1/validate/msisdn/requestToken', { body: { client_secret: 'link_secret', country: 'DE', phone_number: '030 1234567', send_attempt: 1 } });
  t.equal(requested.data?.msisdn, '49301234567');
  const code = codeIn(relay.calls.at(-1)!.body.text);
  const link = (token: string) => `${relayed.baseUrl}/_matrix/identity/v2/validate/msisdn/submitToken?${new URLSearchParams({ sid: requested.data!.sid, client_secret: 'link_secret', token })}`;
  const wrong = await fetch(link(code === '000000' ? '111111' : '000000'));
  t.equal(wrong.status, 200);
  t.equal(wrong.headers.get('content-type'), 'text/html; charset=utf-8');
  t.match(await wrong.text(), /Verification failed: .*request another verification text/);
  const right = await fetch(link(code));
  t.equal(right.status, 200);
  t.match(await right.text(), /Verification successful/);
});

t.test('send_attempt: a string holding an integer (the Matrix JS SDK) is accepted, anything else is not', async (t) => {
  const before = relay.calls.length;
  const first = await api.POST('/api/v1/validate/msisdn/requestToken', { body: { client_secret: 'attempts', country: 'US', phone_number: '(800) 555-2067', send_attempt: '1' as never } });
  t.equal(first.response.status, 200);
  t.equal(first.data?.msisdn, '18005552067');
  const again = await api.POST('/api/v1/validate/msisdn/requestToken', { body: { client_secret: 'attempts', country: 'US', phone_number: '+1 800 555 2067', send_attempt: 1 } });
  t.equal(again.data?.sid, first.data?.sid, 'the same number in another form is the same session');
  t.equal(relay.calls.length, before + 1, 'a repeated send_attempt texts nothing');
  const next = await api.POST('/api/v1/validate/msisdn/requestToken', { body: { client_secret: 'attempts', country: 'US', phone_number: '8005552067', send_attempt: ' 2 ' as never } });
  t.equal(next.data?.sid, first.data?.sid);
  t.equal(relay.calls.length, before + 2, 'a greater send_attempt texts a new code');
  const email = await api.POST('/api/v1/validate/email/requestToken', { body: { client_secret: 'attempts', email: 'sa@example.test', send_attempt: '3' as never } });
  t.equal(email.response.status, 200, 'email too');
  for (const bad of ['one', '1.5', '', '99999999999']) {
    const refused = await api.POST('/api/v1/validate/msisdn/requestToken', { body: { client_secret: 'attempts', country: 'US', phone_number: '8005552067', send_attempt: bad as never } });
    t.equal(refused.response.status, 400, `send_attempt ${JSON.stringify(bad)}`);
    t.equal(refused.error?.errcode, 'M_INVALID_PARAM');
  }
});

t.test('invalid numbers', async (t) => {
  const before = relay.calls.length;
  for (const [country, phone_number] of [['GB', '12'], ['GB', 'not a number'], ['ZZ', '07700900001'], ['', '07700900001'], ['GB', '07700 900001 ext. 5']]) {
    const refused = await api.POST('/api/v1/validate/msisdn/requestToken', { body: { client_secret: 'bad_number', country, phone_number, send_attempt: 1 } });
    t.equal(refused.response.status, 400, `${country} ${phone_number}`);
    t.same(refused.error, { errcode: 'M_INVALID_PHONE_NUMBER', error: 'Invalid phone number' });
  }
  const missing = await api.POST('/api/v1/validate/msisdn/requestToken', { body: { client_secret: 'bad_number', phone_number: '07700900001' } as never });
  t.same(missing.error, { errcode: 'M_MISSING_PARAMS', error: 'Missing parameters: country' });
  t.equal(relay.calls.length, before, 'nothing texted');
});

t.test('the relay refuses: 500 M_SEND_ERROR, no session to validate', async (t) => {
  relay.state.status = 503;
  t.teardown(() => {
    relay.state.status = 202;
  });
  const failed = await api.POST('/api/v1/validate/msisdn/requestToken', { body: { client_secret: 'relay_down', country: 'GB', phone_number: '07700900123', send_attempt: 1 } });
  t.equal(failed.response.status, 500);
  t.same(failed.error, { errcode: 'M_SEND_ERROR', error: 'Failed to send the text message' });
});

t.test('rate limits: per number, as for email', async (t) => {
  // Per number (3 in this file): different client secrets, one number.
  const perNumber: number[] = [];
  for (let i = 0; i < 4; i += 1) {
    perNumber.push((await api.POST('/api/v1/validate/msisdn/requestToken', { body: { client_secret: `n${i}`, country: 'GB', phone_number: '07700900777', send_attempt: 1 } })).response.status);
  }
  t.same(perNumber, [200, 200, 200, 429]);
  const again = await api.POST('/api/v1/validate/msisdn/requestToken', { body: { client_secret: 'n9', country: 'GB', phone_number: '+44 7700 900777', send_attempt: 1 } });
  t.equal(again.error?.errcode, 'M_LIMIT_EXCEEDED', 'the number in another form is the same number');
  t.type(again.error?.retry_after_ms, 'number');
});

t.test('v2 without a relay: the outbox, then bind and hashed lookup', async (t) => {
  const { api: pat, userId } = await account('pat');

  const unauthenticated = await anonymous.POST('/v2/validate/msisdn/requestToken', { body: { client_secret: 'v2', country: 'GB', phone_number: '07700900555', send_attempt: 1 } });
  t.equal(unauthenticated.response.status, 401, 'v2 needs the access token');
  const requested = await pat.POST('/v2/validate/msisdn/requestToken', { body: { client_secret: 'v2', country: 'GB', phone_number: '07700900555', send_attempt: 1 } });
  t.equal(requested.data?.msisdn, '447700900555');
  const outbox = path.join(outboxed.config.dataDir, 'outbox');
  const files = (await readdir(outbox)).filter((name) => name.endsWith('.sms.txt'));
  t.equal(files.length, 1, 'one text in DATA_DIR/outbox');
  const text = await readFile(path.join(outbox, files[0]), 'utf8');
  t.match(text, /^To: \+447700900555\n/);
  const code = codeIn(text);

  const submitted = await pat.POST('/v2/validate/msisdn/submitToken', { body: { sid: requested.data!.sid, client_secret: 'v2', token: code } });
  t.same(submitted.data, { success: true });
  const bound = await pat.POST('/v2/3pid/bind', { body: { sid: requested.data!.sid, client_secret: 'v2', mxid: userId } });
  t.equal(bound.data?.address, '447700900555');

  const pepper = (await pat.GET('/v2/hash_details')).data!.lookup_pepper;
  // What a client computes (the spec): sha256("<msisdn> msisdn <pepper>"), unpadded URL-safe base64.
  const hash = createHash('sha256').update(`447700900555 msisdn ${pepper}`).digest('base64url');
  const hashed = await pat.POST('/v2/lookup', { body: { algorithm: 'sha256', pepper, addresses: [hash] } });
  t.same(hashed.data, { mappings: { [hash]: userId } });
  const clear = await pat.POST('/v2/lookup', { body: { algorithm: 'none', pepper, addresses: ['447700900555 msisdn'] } });
  t.same(clear.data, { mappings: { '447700900555 msisdn': userId } });
});

t.test('rate limits: per client (the account in v2), as for email', async (t) => {
  const { api: quinn } = await account('quinn');
  const statuses: number[] = [];
  for (let i = 0; i < 5; i += 1) {
    statuses.push((await quinn.POST('/v2/validate/msisdn/requestToken', { body: { client_secret: `q${i}`, country: 'GB', phone_number: `0770090030${i}`, send_attempt: 1 } })).response.status);
  }
  t.same(statuses, [200, 200, 200, 200, 429], 'four numbers, then limited (4 in this server)');
  const { api: other } = await account('rosa');
  const fresh = await other.POST('/v2/validate/msisdn/requestToken', { body: { client_secret: 'r', country: 'GB', phone_number: '07700900399', send_attempt: 1 } });
  t.equal(fresh.response.status, 200, 'another account is not limited');
});
