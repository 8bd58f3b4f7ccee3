// The v1 identity API of seeds 002/003, end to end: real SMTP, a fake homeserver over HTTPS.
import { eq } from 'drizzle-orm';
import t from 'tap';
import { identityValidationSessions } from '../../src/db/schema/index.ts';
import { loadConfig } from '../../src/config.ts';
import { verifySignedJson } from '../../src/identity/signing.ts';
import { startApp } from '../helpers/app.ts';
import { identityClient, plainText, startFakeHomeserver, startMailCatcher, type ReceivedMail } from '../helpers/identity.ts';

const mail = await startMailCatcher(t);
const homeserver = await startFakeHomeserver(t);
const defaults = loadConfig({});
const { baseUrl, database, config } = await startApp(t, {
  mail: { ...defaults.mail, smtpUrl: mail.url, from: 'Parley Identity <noreply@id.test>' },
  identity: { ...defaults.identity, serverName: 'id.test', federationVerifyTls: false, emailRateLimit: { perAddress: 50, perClient: 500, windowMs: 60_000 } },
  guessRateLimit: { max: 50, windowMs: 60_000 },
  // The fake homeserver is on loopback, which the outbound policy refuses unless allowlisted.
  outboundIpAllowlist: ['127.0.0.0/8'],
});
const api = identityClient(baseUrl);
const mxid = (name: string) => `@${name}:${homeserver.serverName}`;
let counter = 0;
const newAddress = () => `person${++counter}.${Date.now()}@example.test`;

/** What a person does with the mail: find the link and the token in it. */
function linkIn(message: ReceivedMail): URL {
  const match = /(https?:\/\/\S+\/validate\/email\/submitToken\?\S+)/.exec(plainText(message));
  if (!match) throw new Error('no link in the mail');
  return new URL(match[1]);
}

/** The link as this test reaches the server (PUBLIC_URL is the default http://localhost:8080). */
const local = (url: URL | string) => `${baseUrl}${new URL(url).pathname}${new URL(url).search}`;

async function requestToken(email: string, clientSecret = 'monkeys_are_GREAT', extra: Record<string, unknown> = {}) {
  const before = mail.received.length;
  const { data, response, error } = await api.POST('/api/v1/validate/email/requestToken', { body: { client_secret: clientSecret, email, send_attempt: 1, ...extra } });
  if (!data) throw new Error(`requestToken ${response.status} ${JSON.stringify(error)}`);
  return { sid: data.sid, mail: await mail.next(email, before) };
}

async function validatedSession(email: string, clientSecret = 'monkeys_are_GREAT') {
  const { sid, mail: message } = await requestToken(email, clientSecret);
  const token = linkIn(message).searchParams.get('token')!;
  const { data } = await api.POST('/api/v1/validate/email/submitToken', { body: { sid, client_secret: clientSecret, token } });
  if (!data?.success) throw new Error('submitToken failed');
  return { sid, clientSecret, token };
}

t.test('status and versions', async (t) => {
  t.same((await api.GET('/api/v1')).data, {});
  t.same((await api.GET('/v2')).data, {});
  const versions = await api.GET('/versions');
  t.ok(versions.data?.versions.includes('v1.5'));
});

t.test('validate → bind → lookup → unbind', async (t) => {
  const email = newAddress();
  const { sid, mail: message } = await requestToken(email);
  t.match(sid, /^[0-9a-zA-Z.=_-]+$/, 'sid in the spec grammar');
  t.same(message.to, [email], 'the mail went to the address');
  t.equal(message.from, 'noreply@id.test', 'envelope sender from MAIL_FROM');
  t.match(message.raw, /^Subject: Confirm your email address for Matrix/m, 'the template is the raw message');
  const link = linkIn(message);
  t.equal(link.origin + link.pathname, `${config.publicUrl}/_matrix/identity/api/v1/validate/email/submitToken`, 'link built from PUBLIC_URL');
  const token = link.searchParams.get('token')!;
  t.match(token, /^[A-Za-z0-9]{32}$/);
  t.ok(plainText(message).includes(token), 'the token is in the mail for clients that ask for a code');

  const early = await api.GET('/api/v1/3pid/getValidated3pid', { params: { query: { sid, client_secret: 'monkeys_are_GREAT' } } });
  t.equal(early.response.status, 400);
  t.same(early.error, { errcode: 'M_SESSION_NOT_VALIDATED', error: 'This validation session has not yet been completed' });
  const earlyBind = await api.POST('/api/v1/bind', { body: { sid, client_secret: 'monkeys_are_GREAT', mxid: mxid('ears') } });
  t.equal(earlyBind.response.status, 400);
  t.equal(earlyBind.error?.errcode, 'M_SESSION_NOT_VALIDATED');

  const wrongToken = await api.POST('/api/v1/validate/email/submitToken', { body: { sid, client_secret: 'monkeys_are_GREAT', token: 'nope' } });
  t.equal(wrongToken.data?.success, false, 'a wrong token does not validate');
  const submitted = await api.POST('/api/v1/validate/email/submitToken', { body: { sid, client_secret: 'monkeys_are_GREAT', token } });
  t.same(submitted.data, { success: true });

  const validated = await api.GET('/api/v1/3pid/getValidated3pid', { params: { query: { sid, client_secret: 'monkeys_are_GREAT' } } });
  t.equal(validated.data?.medium, 'email');
  t.equal(validated.data?.address, email);
  t.ok(Math.abs(validated.data!.validated_at - Date.now()) < 60_000, 'validated_at in ms');

  const wrongSecret = await api.GET('/api/v1/3pid/getValidated3pid', { params: { query: { sid, client_secret: 'other_secret' } } });
  t.equal(wrongSecret.response.status, 404);
  t.same(wrongSecret.error, { errcode: 'M_NO_VALID_SESSION', error: 'No valid session was found matching that sid and client secret' });
  const unknownBind = await api.POST('/api/v1/bind', { body: { sid: 'nosuchsid', client_secret: 'monkeys_are_GREAT', mxid: mxid('ears') } });
  t.equal(unknownBind.response.status, 404);
  t.equal(unknownBind.error?.errcode, 'M_NO_VALID_SESSION');

  const bound = await api.POST('/api/v1/bind', { body: { sid, client_secret: 'monkeys_are_GREAT', mxid: mxid('ears') } });
  t.equal(bound.response.status, 200);
  const association = bound.data!;
  t.equal(association.address, email);
  t.equal(association.mxid, mxid('ears'));
  t.equal(association.not_after - association.not_before, 100 * 365 * 24 * 3600 * 1000);
  const key = await api.GET('/api/v1/pubkey/{keyId}', { params: { path: { keyId: 'ed25519:0' } } });
  t.ok(verifySignedJson(association as never, 'id.test', 'ed25519:0', key.data!.public_key), 'signed by the long-term key under SERVER_NAME');
  const onbind = await homeserver.waitForOnbind(1);
  t.equal(onbind.at(-1)!.body.mxid, mxid('ears'), 'the homeserver was told');

  const upper = email.toUpperCase();
  const lookup = await api.GET('/api/v1/lookup', { params: { query: { medium: 'email', address: upper } } });
  t.equal(lookup.data?.mxid, mxid('ears'), 'lookup is case-insensitive');
  t.ok(verifySignedJson(lookup.data as never, 'id.test', 'ed25519:0', key.data!.public_key), 'lookup answers signed');
  const bulk = await api.POST('/api/v1/bulk_lookup', { body: { threepids: [['email', email], ['email', 'nobody@example.test']] } });
  t.same(bulk.data, { threepids: [['email', email, mxid('ears')]] });

  const wrongProof = await api.POST('/api/v1/3pid/unbind', {
    body: { mxid: mxid('ears'), threepid: { medium: 'email', address: email }, sid, client_secret: 'wrong_secret' },
  });
  t.equal(wrongProof.response.status, 401);
  t.equal(wrongProof.error?.errcode, 'M_NO_VALID_SESSION');
  const noProof = await api.POST('/api/v1/3pid/unbind', { body: { mxid: mxid('ears'), threepid: { medium: 'email', address: email } } });
  t.equal(noProof.response.status, 401);
  t.equal(noProof.error?.errcode, 'M_FORBIDDEN');
  const unbound = await api.POST('/api/v1/3pid/unbind', {
    body: { mxid: mxid('ears'), threepid: { medium: 'email', address: email }, sid, client_secret: 'monkeys_are_GREAT' },
  });
  t.same(unbound.data, {});
  t.same((await api.GET('/api/v1/lookup', { params: { query: { medium: 'email', address: email } } })).data, {}, 'gone after unbind');
});

t.test('unbind signed by the homeserver', async (t) => {
  const email = newAddress();
  const { sid, clientSecret } = await validatedSession(email);
  await api.POST('/api/v1/3pid/bind', { body: { sid, client_secret: clientSecret, mxid: mxid('signer') } });
  const content = { mxid: mxid('signer'), threepid: { medium: 'email', address: email } };
  const forged = await api.POST('/v2/3pid/unbind', {
    body: content,
    headers: { authorization: homeserver.authorization('POST', '/_matrix/identity/v2/3pid/unbind', 'id.test', { ...content, mxid: mxid('other') }) },
  });
  t.equal(forged.response.status, 401, 'a signature over other content');
  t.equal(forged.error?.errcode, 'M_FORBIDDEN');
  const signed = await api.POST('/v2/3pid/unbind', {
    body: content,
    headers: { authorization: homeserver.authorization('POST', '/_matrix/identity/v2/3pid/unbind', 'id.test', content) },
  });
  t.equal(signed.response.status, 200);
  t.same((await api.GET('/api/v1/lookup', { params: { query: { medium: 'email', address: email } } })).data, {});
});

t.test('send_attempt idempotence', async (t) => {
  const email = newAddress();
  const first = await requestToken(email, 'secret_one');
  const count = mail.received.length;
  const again = await api.POST('/api/v1/validate/email/requestToken', { body: { client_secret: 'secret_one', email, send_attempt: 1 } });
  t.equal(again.data?.sid, first.sid, 'same session');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(mail.received.length, count, 'a repeated send_attempt sends nothing');
  const next = await api.POST('/api/v1/validate/email/requestToken', { body: { client_secret: 'secret_one', email, send_attempt: 2 } });
  t.equal(next.data?.sid, first.sid);
  await mail.next(email, count);
  const other = await api.POST('/api/v1/validate/email/requestToken', { body: { client_secret: 'secret_two', email, send_attempt: 1 } });
  t.not(other.data?.sid, first.sid, 'another client_secret is another session');
});

t.test('form-encoded v1 requests (deprecated) still work', async (t) => {
  const email = newAddress();
  const before = mail.received.length;
  const response = await fetch(`${baseUrl}/_matrix/identity/api/v1/validate/email/requestToken`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_secret: 'form_secret', email, send_attempt: '3' }),
  });
  t.equal(response.status, 200);
  t.type(((await response.json()) as { sid: string }).sid, 'string');
  await mail.next(email, before);
});

t.test('the emailed link: an HTML page, or a redirect to next_link', async (t) => {
  const email = newAddress();
  const { mail: message } = await requestToken(email, 'page_secret');
  // A person clicks a wrong or broken link first: a page that says so, at 200, never a bare error body.
  const failed = await fetch(local(linkIn(message).toString().replace(/token=[^&]+/, 'token=wrong')), { redirect: 'manual' });
  t.equal(failed.status, 200);
  t.equal(failed.headers.get('content-type'), 'text/html; charset=utf-8');
  t.match(await failed.text(), /<p>Verification failed: this link is not valid .*request another verification email/);
  const truncated = new URL(local(linkIn(message)));
  truncated.searchParams.delete('token');
  const broken = await fetch(truncated, { redirect: 'manual' });
  t.equal(broken.status, 200, 'a link cut short by the mail client');
  t.match(broken.headers.get('content-type'), /^text\/html/);
  t.match(await broken.text(), /Verification failed: this link is incomplete/);

  const page = await fetch(local(linkIn(message)), { redirect: 'manual' });
  t.equal(page.status, 200);
  t.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  t.match(await page.text(), /Verification successful/);
  // The template styles itself inline; scripts stay forbidden on the page.
  const pagePolicy = page.headers.get('content-security-policy') ?? '';
  t.match(pagePolicy, /style-src 'unsafe-inline'/, 'the page keeps its own style');
  t.match(pagePolicy, /default-src 'none'/, 'and runs no script');
  t.notMatch(pagePolicy, /script-src/);

  // The same link on v2, and an expired one on both.
  const v2Email = newAddress();
  const { sid: v2Sid, mail: v2Message } = await requestToken(v2Email, 'page_secret_2');
  const v2Link = (token: string) => `${baseUrl}/_matrix/identity/v2/validate/email/submitToken?${new URLSearchParams({ sid: v2Sid, client_secret: 'page_secret_2', token })}`;
  const v2Token = linkIn(v2Message).searchParams.get('token')!;
  const v2Wrong = await fetch(v2Link('wrong'), { redirect: 'manual' });
  t.equal(v2Wrong.status, 200);
  t.match(await v2Wrong.text(), /Verification failed: this link is not valid/);
  await database.db.update(identityValidationSessions).set({ mtime: new Date(Date.now() - 25 * 3600 * 1000) }).where(eq(identityValidationSessions.sid, v2Sid));
  for (const link of [v2Link(v2Token), local(linkIn(v2Message))]) {
    const expired = await fetch(link, { redirect: 'manual' });
    t.equal(expired.status, 200, `expired: ${new URL(link).pathname}`);
    t.equal(expired.headers.get('content-type'), 'text/html; charset=utf-8');
    t.match(await expired.text(), /Verification failed: this link has expired\. Please request another verification email\./);
  }
  const v2Ok = await requestToken(newAddress(), 'page_secret_3');
  const v2OkLink = `${baseUrl}/_matrix/identity/v2/validate/email/submitToken${linkIn(v2Ok.mail).search}`;
  const v2Success = await fetch(v2OkLink, { redirect: 'manual' });
  t.equal(v2Success.status, 200);
  t.match(await v2Success.text(), /Verification successful/);
  // The API form keeps its JSON answers.
  const apiForm = await api.POST('/api/v1/validate/email/submitToken', { body: { sid: v2Sid, client_secret: 'page_secret_2', token: v2Token } });
  t.equal(apiForm.response.headers.get('content-type'), 'application/json; charset=utf-8');
  t.equal(apiForm.data?.errcode, 'M_SESSION_EXPIRED');

  const other = newAddress();
  const { sid, mail: withNext } = await requestToken(other, 'next_secret', { next_link: 'https://app.example.test/#/register?session=1' });
  const redirect = await fetch(local(linkIn(withNext)), { redirect: 'manual' });
  t.equal(redirect.status, 302);
  t.equal(redirect.headers.get('location'), `https://app.example.test/#/register?session=1&sid=${sid}`);

  for (const nextLink of ['file:///etc/passwd', 'javascript:alert(document.cookie)', 'data:text/html,<script>alert(1)</script>', 'not a url']) {
    const refused = await api.POST('/api/v1/validate/email/requestToken', { body: { client_secret: 'file_secret', email: newAddress(), send_attempt: 1, next_link: nextLink } });
    t.equal(refused.response.status, 400, `${nextLink} refused`);
    t.equal(refused.error?.errcode, 'M_INVALID_PARAM');
  }
});

t.test('expired sessions', async (t) => {
  const email = newAddress();
  const { sid, clientSecret, token } = await validatedSession(email);
  await database.db.update(identityValidationSessions).set({ mtime: new Date(Date.now() - 25 * 3600 * 1000) }).where(eq(identityValidationSessions.sid, sid));
  const expired = await api.GET('/api/v1/3pid/getValidated3pid', { params: { query: { sid, client_secret: clientSecret } } });
  t.equal(expired.response.status, 400);
  t.equal(expired.error?.errcode, 'M_SESSION_EXPIRED');
  const bind = await api.POST('/api/v1/bind', { body: { sid, client_secret: clientSecret, mxid: mxid('late') } });
  t.equal(bind.error?.errcode, 'M_SESSION_EXPIRED');
  const submit = await api.POST('/api/v1/validate/email/submitToken', { body: { sid, client_secret: clientSecret, token } });
  t.same(submit.data?.success, false);
  t.equal(submit.data?.errcode, 'M_SESSION_EXPIRED', 'the token expired with the session');
});

t.test('store-invite → bind delivers the invite to the homeserver', async (t) => {
  const email = newAddress();
  const before = mail.received.length;
  const stored = await api.POST('/api/v1/store-invite', {
    body: { medium: 'email', address: email, room_id: '!room:example.test', sender: mxid('bob'), room_name: 'Garden', sender_display_name: 'Bob' } as never,
  });
  t.equal(stored.response.status, 200);
  const invite = stored.data!;
  t.match(invite.token, /^[A-Za-z]{128}$/);
  t.equal(invite.display_name, 'p...@e...', 'redacted like the seeds');
  t.equal(invite.public_keys.length, 2);
  const key = await api.GET('/api/v1/pubkey/{keyId}', { params: { path: { keyId: 'ed25519:0' } } });
  const [longTerm, ephemeral] = invite.public_keys;
  // Objects as Sydent returns them (a homeserver copies them into m.room.third_party_invite), legacy public_key beside them.
  t.same(longTerm, { public_key: key.data?.public_key, key_validity_url: `${config.publicUrl}/_matrix/identity/api/v1/pubkey/isvalid` }, 'first the long-term key');
  t.equal(ephemeral.key_validity_url, `${config.publicUrl}/_matrix/identity/api/v1/pubkey/ephemeral/isvalid`);
  t.equal(invite.public_key, key.data?.public_key, 'the legacy public_key string stays');
  // What a homeserver does with each key: ask its key_validity_url (here reached on the test's address).
  for (const { public_key, key_validity_url } of invite.public_keys) {
    const checked = await fetch(`${local(key_validity_url)}?${new URLSearchParams({ public_key })}`);
    t.same(await checked.json(), { valid: true }, `${key_validity_url} vouches for its key`);
  }
  t.same((await api.GET('/api/v1/pubkey/isvalid', { params: { query: { public_key: ephemeral.public_key } } })).data, { valid: false });

  const message = await mail.next(email, before);
  const text = plainText(message);
  t.match(text, /Bob has invited you into a room \(Garden\)/);
  t.ok(text.includes(invite.token), 'the invitee gets the token');
  const signurl = new URL(decodeURIComponent(/signurl=([^&\s]+)/.exec(text)![1]));
  const privateKey = signurl.searchParams.get('private_key')!;

  const signed = await api.POST('/api/v1/sign-ed25519', { body: { mxid: mxid('invitee'), token: invite.token, private_key: privateKey } });
  t.equal(signed.data?.sender, mxid('bob'));
  t.ok(verifySignedJson(signed.data as never, 'id.test', 'ed25519:0', ephemeral.public_key), 'signed with the ephemeral key');
  const legacy = await api.POST('/api/v1/sign-ed25519', { params: { query: { token: invite.token, private_key: privateKey } }, body: { mxid: mxid('invitee') } });
  t.equal(legacy.response.status, 200, 'the emailed signurl form (query parameters)');
  const unknown = await api.POST('/api/v1/sign-ed25519', { body: { mxid: mxid('invitee'), token: 'nosuchtoken', private_key: privateKey } });
  t.equal(unknown.response.status, 404);
  t.same(unknown.error, { errcode: 'M_UNRECOGNIZED', error: "Didn't recognize token" });

  const calls = homeserver.onbind.length;
  const { sid, clientSecret } = await validatedSession(email);
  const bound = await api.POST('/api/v1/bind', { body: { sid, client_secret: clientSecret, mxid: mxid('invitee') } });
  t.equal(bound.data?.invites?.length, 1, 'the bind answer carries the invite');
  const [onbind] = (await homeserver.waitForOnbind(calls + 1)).slice(calls);
  t.equal(onbind.method, 'PUT', 'the spec method first');
  const delivered = (onbind.body.invites as Array<Record<string, unknown>>)[0];
  t.equal(delivered.token, invite.token);
  t.equal(delivered.room_id, '!room:example.test');
  t.equal(delivered.mxid, mxid('invitee'));
  t.ok(verifySignedJson(delivered.signed as never, 'id.test', 'ed25519:0', key.data!.public_key), 'the invite is signed by the server');
  t.ok(verifySignedJson(onbind.body, 'id.test', 'ed25519:0', key.data!.public_key), 'so is the association');

  // Delivered invites are removed, and their ephemeral keys stop being valid.
  for (let i = 0; i < 100; i += 1) {
    const valid = (await api.GET('/api/v1/pubkey/ephemeral/isvalid', { params: { query: { public_key: ephemeral.public_key } } })).data?.valid;
    if (!valid) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.same((await api.GET('/api/v1/pubkey/ephemeral/isvalid', { params: { query: { public_key: ephemeral.public_key } } })).data, { valid: false });
  const gone = await api.POST('/api/v1/sign-ed25519', { body: { mxid: mxid('invitee'), token: invite.token, private_key: privateKey } });
  t.equal(gone.response.status, 404);

  const inUse = await api.POST('/api/v1/store-invite', { body: { medium: 'email', address: email.toUpperCase(), room_id: '!r:example.test', sender: mxid('bob') } });
  t.equal(inUse.response.status, 400);
  t.same(inUse.error, { errcode: 'M_THREEPID_IN_USE', error: 'Binding already known', mxid: mxid('invitee') });
  const medium = await api.POST('/api/v1/store-invite', { body: { medium: 'msisdn', address: '447700900001', room_id: '!r:example.test', sender: mxid('bob') } });
  t.equal(medium.response.status, 400);
  t.equal(medium.error?.errcode, 'M_UNRECOGNIZED');
});

t.test('onbind falls back to POST', async (t) => {
  homeserver.options.onbindMethods = new Set(['POST']);
  t.teardown(() => {
    homeserver.options.onbindMethods = new Set(['PUT', 'POST']);
  });
  const calls = homeserver.onbind.length;
  const { sid, clientSecret } = await validatedSession(newAddress());
  await api.POST('/api/v1/bind', { body: { sid, client_secret: clientSecret, mxid: mxid('poster') } });
  const [call] = (await homeserver.waitForOnbind(calls + 1)).slice(calls);
  t.equal(call.method, 'POST');
});

t.test('errors in the Matrix envelope', async (t) => {
  const invalidEmail = await api.POST('/api/v1/validate/email/requestToken', {
    body: { client_secret: 'abc', email: 'fakeemail1@nowhere.test@elsewhere.test', send_attempt: 1 },
  });
  t.equal(invalidEmail.response.status, 400);
  t.equal(invalidEmail.error?.errcode, 'M_INVALID_EMAIL');
  const badSecret = await api.POST('/api/v1/validate/email/requestToken', { body: { client_secret: 'has spaces!', email: newAddress() } });
  t.equal(badSecret.response.status, 400);
  t.equal(badSecret.error?.errcode, 'M_INVALID_PARAM');
  const missing = await api.POST('/api/v1/validate/email/requestToken', { body: { email: newAddress() } as never });
  t.equal(missing.response.status, 400);
  t.same(missing.error, { errcode: 'M_MISSING_PARAMS', error: 'Missing parameters: client_secret' });
  const missingQuery = await api.GET('/api/v1/3pid/getValidated3pid', { params: { query: { sid: '1' } as never } });
  t.equal(missingQuery.error?.errcode, 'M_MISSING_PARAMS');
  const badAttempt = await api.POST('/api/v1/validate/email/requestToken', { body: { client_secret: 'abc', email: newAddress(), send_attempt: 'x' as never } });
  t.equal(badAttempt.error?.errcode, 'M_INVALID_PARAM');

  const broken = await fetch(`${baseUrl}/_matrix/identity/api/v1/bind`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sid":' });
  t.equal(broken.status, 400);
  t.equal(((await broken.json()) as { errcode: string }).errcode, 'M_NOT_JSON');
  const text = await fetch(`${baseUrl}/_matrix/identity/api/v1/bind`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
  t.equal(((await text.json()) as { errcode: string }).errcode, 'M_NOT_JSON');
  t.ok(text.status >= 400 && text.status < 500);

  const unknown = await fetch(`${baseUrl}/_matrix/identity/api/v1/nothing`);
  t.equal(unknown.status, 404);
  t.same(await unknown.json(), { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
  const wrongMethod = await fetch(`${baseUrl}/_matrix/identity/api/v1/bind`);
  t.equal(wrongMethod.status, 405);
  t.equal(((await wrongMethod.json()) as { errcode: string }).errcode, 'M_UNRECOGNIZED');
  const preflight = await fetch(`${baseUrl}/_matrix/identity/v2/lookup`, { method: 'OPTIONS' });
  t.equal(preflight.status, 200);
  t.equal(preflight.headers.get('access-control-allow-origin'), '*');

  const noKey = await api.GET('/api/v1/pubkey/{keyId}', { params: { path: { keyId: 'ed25519:9' } } });
  t.equal(noKey.response.status, 404);
  t.equal(noKey.error?.errcode, 'M_NOT_FOUND');
  const noParam = await api.GET('/api/v1/pubkey/isvalid', { params: { query: {} as never } });
  t.equal(noParam.error?.errcode, 'M_MISSING_PARAMS');
});

t.test('SMTP failure is M_EMAIL_SEND_ERROR and stores nothing', async (t) => {
  mail.state.fail = true;
  t.teardown(() => {
    mail.state.fail = false;
  });
  const email = newAddress();
  const failed = await api.POST('/api/v1/validate/email/requestToken', { body: { client_secret: 'smtp_secret', email, send_attempt: 1 } });
  t.equal(failed.response.status, 500);
  t.same(failed.error, { errcode: 'M_EMAIL_SEND_ERROR', error: 'Failed to send email' });
  const rows = await database.db.select().from(identityValidationSessions).where(eq(identityValidationSessions.address, email));
  t.equal(rows.length, 0, 'no half-made session');
  const invite = await api.POST('/api/v1/store-invite', { body: { medium: 'email', address: email, room_id: '!r:example.test', sender: mxid('bob') } });
  t.equal(invite.error?.errcode, 'M_EMAIL_SEND_ERROR');
  mail.state.fail = false;
  const retried = await api.POST('/api/v1/validate/email/requestToken', { body: { client_secret: 'smtp_secret', email, send_attempt: 1 } });
  t.equal(retried.response.status, 200, 'the same send_attempt sends once SMTP works again');
});
