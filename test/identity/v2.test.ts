// The v2 identity API: OpenID registration with a fake homeserver, terms, hashed lookup,
// authenticated bind and invites, and the rate limits.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadConfig } from '../../src/config.ts';
import { lookupHash } from '../../src/identity/hashing.ts';
import { startApp } from '../helpers/app.ts';
import { identityClient, plainText, startFakeHomeserver, startMailCatcher } from '../helpers/identity.ts';

const termsDir = await mkdtemp(path.join(tmpdir(), 'parley-terms-'));
const termsPath = path.join(termsDir, 'terms.yaml');
await writeFile(
  termsPath,
  `master_version: "2.0"
docs:
  terms_of_service:
    version: "2.0"
    langs:
      en: { name: Terms of Service, url: "https://example.org/terms-2.0-en.html" }
      fr: { name: "Conditions d'utilisation", url: "https://example.org/terms-2.0-fr.html" }
  privacy_policy:
    version: "1.2"
    langs:
      en: { name: Privacy Policy, url: "https://example.org/privacy-1.2-en.html" }
`,
);
const mail = await startMailCatcher(t);
const homeserver = await startFakeHomeserver(t);
const defaults = loadConfig({});
const { baseUrl } = await startApp(t, {
  mail: { ...defaults.mail, smtpUrl: mail.url },
  identity: { ...defaults.identity, serverName: 'id.test', termsPath, federationVerifyTls: false, emailRateLimit: { perAddress: 3, perClient: 4, windowMs: 60_000 } },
  guessRateLimit: { max: 5, windowMs: 60_000 },
  // The fake homeserver is on loopback, which the outbound policy refuses unless allowlisted.
  outboundIpAllowlist: ['127.0.0.0/8'],
});
const anonymous = identityClient(baseUrl);
const mxid = (name: string) => `@${name}:${homeserver.serverName}`;
const ALL_TERMS = ['https://example.org/terms-2.0-fr.html', 'https://example.org/privacy-1.2-en.html'];
let counter = 0;

/** Registers through OpenID as a homeserver user; accepts the terms unless told not to. */
async function account(name: string, acceptTerms = true) {
  const openId = `openid-${name}-${++counter}`;
  homeserver.openIdTokens.set(openId, mxid(name));
  const { data, error, response } = await anonymous.POST('/v2/account/register', {
    body: { access_token: openId, token_type: 'Bearer', matrix_server_name: homeserver.serverName, expires_in: 3600 },
  });
  if (!data) throw new Error(`register ${response.status} ${JSON.stringify(error)}`);
  const api = identityClient(baseUrl, { authorization: `Bearer ${data.token}` });
  if (acceptTerms) await api.POST('/v2/terms', { body: { user_accepts: ALL_TERMS } });
  return { token: data.token, accessToken: data.access_token, api, userId: mxid(name) };
}

async function validate(api: ReturnType<typeof identityClient>, email: string, clientSecret = 'v2_secret') {
  const before = mail.received.length;
  const { data, error } = await api.POST('/v2/validate/email/requestToken', { body: { client_secret: clientSecret, email, send_attempt: 1 } });
  if (!data) throw new Error(`requestToken ${JSON.stringify(error)}`);
  const token = /token=([A-Za-z0-9]+)/.exec(plainText(await mail.next(email, before)))![1];
  const submitted = await api.POST('/v2/validate/email/submitToken', { body: { sid: data.sid, client_secret: clientSecret, token } });
  if (!submitted.data?.success) throw new Error('submitToken failed');
  return { sid: data.sid, clientSecret };
}

t.test('register, account, logout', async (t) => {
  const alice = await account('alice', false);
  t.equal(alice.token, alice.accessToken, 'token also as access_token, like Sydent');
  const me = await alice.api.GET('/v2/account');
  t.equal(me.response.status, 403, 'terms not yet accepted');
  t.equal(me.error?.errcode, 'M_TERMS_NOT_SIGNED');

  const refused = await anonymous.POST('/v2/account/register', { body: { access_token: 'unknown', matrix_server_name: homeserver.serverName } });
  t.equal(refused.response.status, 401);
  t.equal(refused.error?.errcode, 'M_UNAUTHORIZED');
  const badName = await anonymous.POST('/v2/account/register', { body: { access_token: 'x', matrix_server_name: 'bad name!' } });
  t.equal(badName.error?.errcode, 'M_INVALID_PARAM');

  const noToken = await anonymous.GET('/v2/account');
  t.equal(noToken.response.status, 401);
  t.same(noToken.error, { errcode: 'M_UNAUTHORIZED', error: 'Unauthorized' });

  const logout = await alice.api.POST('/v2/account/logout');
  t.same(logout.data, {}, 'logout works without accepted terms');
  t.equal((await alice.api.POST('/v2/account/logout')).response.status, 401, 'the token is gone');
  // The Matrix JS SDK and Synapse send `{}` as the body (declared in the spec).
  const bob = await account('bob-logout', false);
  const withBody = await bob.api.POST('/v2/account/logout', { body: {} });
  t.same(withBody.data, {}, 'logout with a {} body');
  t.equal((await bob.api.GET('/v2/account')).response.status, 401, 'that token is gone too');
});

t.test('terms flow', async (t) => {
  const terms = await anonymous.GET('/v2/terms');
  t.same(terms.data?.policies.privacy_policy, { version: '1.2', en: { name: 'Privacy Policy', url: 'https://example.org/privacy-1.2-en.html' } });
  t.equal((terms.data?.policies.terms_of_service as unknown as { fr: { name: string } }).fr.name, "Conditions d'utilisation");

  const carol = await account('carol', false);
  const unknown = await carol.api.POST('/v2/terms', { body: { user_accepts: ['https://example.org/other.html'] } });
  t.equal(unknown.response.status, 400);
  await carol.api.POST('/v2/terms', { body: { user_accepts: ['https://example.org/terms-2.0-en.html'] } });
  t.equal((await carol.api.GET('/v2/hash_details')).error?.errcode, 'M_TERMS_NOT_SIGNED', 'one document is not all');
  await carol.api.POST('/v2/terms', { body: { user_accepts: ['https://example.org/privacy-1.2-en.html'] } });
  const me = await carol.api.GET('/v2/account');
  t.same(me.data, { user_id: mxid('carol') }, 'accepted URLs add up');
});

t.test('v2 validate → bind → hashed lookup → unbind', async (t) => {
  const dave = await account('dave');
  const email = 'Dave.Smith@Example.test';
  const { sid, clientSecret } = await validate(dave.api, email);
  const validated = await dave.api.GET('/v2/3pid/getValidated3pid', { params: { query: { sid, client_secret: clientSecret } } });
  t.equal(validated.data?.address, email);

  const other = await dave.api.POST('/v2/3pid/bind', { body: { sid, client_secret: clientSecret, mxid: mxid('mallory') } });
  t.equal(other.response.status, 403, "only the account's own Matrix ID");
  t.equal(other.error?.errcode, 'M_UNAUTHORIZED');
  const bound = await dave.api.POST('/v2/3pid/bind', { body: { sid, client_secret: clientSecret, mxid: dave.userId } });
  t.equal(bound.data?.address, 'dave.smith@example.test', 'stored normalised');

  const details = await dave.api.GET('/v2/hash_details');
  t.same(details.data?.algorithms, ['sha256', 'none']);
  const pepper = details.data!.lookup_pepper;
  t.ok(pepper.length > 0);
  const hash = lookupHash('email', 'dave.smith@example.test', pepper);
  const hashed = await dave.api.POST('/v2/lookup', { body: { algorithm: 'sha256', pepper, addresses: [hash, lookupHash('email', 'x@example.test', pepper)] } });
  t.same(hashed.data, { mappings: { [hash]: dave.userId } });
  const clear = await dave.api.POST('/v2/lookup', { body: { algorithm: 'none', pepper, addresses: ['dave.smith@example.test email', 'x@example.test email'] } });
  t.same(clear.data, { mappings: { 'dave.smith@example.test email': dave.userId } });

  const badPepper = await dave.api.POST('/v2/lookup', { body: { algorithm: 'sha256', pepper: 'wrong', addresses: [] } });
  t.equal(badPepper.response.status, 400);
  t.same(badPepper.error, { errcode: 'M_INVALID_PEPPER', error: "pepper does not match the server's", algorithm: 'sha256', lookup_pepper: pepper });
  const badAlgorithm = await dave.api.POST('/v2/lookup', { body: { algorithm: 'md5', pepper, addresses: [] } });
  t.equal(badAlgorithm.error?.errcode, 'M_INVALID_PARAM');
  const tooMany = await dave.api.POST('/v2/lookup', { body: { algorithm: 'sha256', pepper, addresses: Array.from({ length: 10_001 }, (_, i) => `h${i}`) } });
  t.equal(tooMany.error?.errcode, 'M_TOO_LARGE');
  const badPair = await dave.api.POST('/v2/lookup', { body: { algorithm: 'none', pepper, addresses: ['nomedium'] } });
  t.equal(badPair.response.status, 400);

  const unbound = await anonymous.POST('/v2/3pid/unbind', { body: { mxid: dave.userId, threepid: { medium: 'email', address: email }, sid, client_secret: clientSecret } });
  t.same(unbound.data, {});
  t.same((await dave.api.POST('/v2/lookup', { body: { algorithm: 'sha256', pepper, addresses: [hash] } })).data, { mappings: {} });
});

t.test('v2 store-invite and sign', async (t) => {
  const erin = await account('erin');
  const wrongSender = await erin.api.POST('/v2/store-invite', { body: { medium: 'email', address: 'guest@example.test', room_id: '!r:example.test', sender: mxid('bob') } });
  t.equal(wrongSender.response.status, 403);
  t.equal(wrongSender.error?.errcode, 'M_UNAUTHORIZED');
  const before = mail.received.length;
  const stored = await erin.api.POST('/v2/store-invite', { body: { medium: 'email', address: 'guest@example.test', room_id: '!r:example.test', sender: erin.userId } });
  t.equal(stored.response.status, 200);
  const [longTerm, ephemeral] = stored.data!.public_keys;
  t.match(longTerm.key_validity_url, /\/_matrix\/identity\/api\/v1\/pubkey\/isvalid$/);
  t.match(ephemeral.key_validity_url, /\/pubkey\/ephemeral\/isvalid$/);
  t.same((await anonymous.GET('/v2/pubkey/ephemeral/isvalid', { params: { query: { public_key: ephemeral.public_key } } })).data, { valid: true });
  t.same((await anonymous.GET('/v2/pubkey/isvalid', { params: { query: { public_key: longTerm.public_key } } })).data, { valid: true });
  t.same((await anonymous.GET('/v2/pubkey/{keyId}', { params: { path: { keyId: 'ed25519:0' } } })).data, { public_key: longTerm.public_key });
  const text = plainText(await mail.next('guest@example.test', before));
  t.match(text, new RegExp(`\\(${erin.userId.replace(/[.]/g, '\\.')}\\) has invited you`), 'the verified sender is named');
  const privateKey = decodeURIComponent(/private_key%3D([^&\s%]+)/.exec(text)![1]);
  const signed = await erin.api.POST('/v2/sign-ed25519', { body: { mxid: mxid('guest'), token: stored.data!.token, private_key: privateKey } });
  t.equal(signed.data?.token, stored.data!.token);
});

t.test('rate limits', async (t) => {
  const frank = await account('frank');
  // The per-client limit (4 in this file): frank's account asks for tokens for many addresses.
  const statuses: number[] = [];
  for (let i = 0; i < 5; i += 1) {
    const { response } = await frank.api.POST('/v2/validate/email/requestToken', { body: { client_secret: `s${i}`, email: `frank${i}@example.test`, send_attempt: 1 } });
    statuses.push(response.status);
  }
  t.same(statuses, [200, 200, 200, 200, 429]);
  const limited = await frank.api.POST('/v2/validate/email/requestToken', { body: { client_secret: 'sx', email: 'frankx@example.test', send_attempt: 1 } });
  t.equal(limited.error?.errcode, 'M_LIMIT_EXCEEDED');
  t.type(limited.error?.retry_after_ms, 'number');

  // The per-address limit (3): different accounts, one address.
  const perAddress: number[] = [];
  for (let i = 0; i < 4; i += 1) {
    const user = await account(`addr${i}`);
    perAddress.push((await user.api.POST('/v2/validate/email/requestToken', { body: { client_secret: `same${i}`, email: 'popular@example.test', send_attempt: 1 } })).response.status);
  }
  t.same(perAddress, [200, 200, 200, 429]);

  // Guessing a session's token (5 guesses per window in this file).
  const gina = await account('gina');
  const { data } = await gina.api.POST('/v2/validate/email/requestToken', { body: { client_secret: 'guess', email: 'gina@example.test', send_attempt: 1 } });
  const guesses: Array<number | boolean | undefined> = [];
  for (let i = 0; i < 6; i += 1) {
    const guess = await anonymous.POST('/api/v1/validate/email/submitToken', { body: { sid: data!.sid, client_secret: 'guess', token: `guess${i}` } });
    guesses.push(guess.response.status === 200 ? guess.data?.success : guess.response.status);
  }
  t.same(guesses, [false, false, false, false, false, 429]);
});
