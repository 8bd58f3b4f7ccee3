// Email as a second factor, as Rocket.Chat does it, against a real SMTP server: codes mailed
// on request and on a challenge, used at login and on a 2FA-guarded route, single use, expiry,
// guesses on the 2FA guess limiter, send limits, and turning it on and off.
import t from 'tap';
import { eq } from 'drizzle-orm';
import { loadConfig } from '../../src/config.ts';
import { emailTwoFactor } from '../../src/db/schema/index.ts';
import { setVerifiedEmail } from '../../src/rocketchat/admin.ts';
import { startApp } from '../helpers/app.ts';
import { plainText, startMailCatcher, type ReceivedMail } from '../helpers/identity.ts';
import { basicAuth, deviceInfo, messengerClient, registerUser, type TestUser } from '../helpers/messenger.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { authHeaders, login, rawCall, type RocketChatCredentials } from '../helpers/rocketchat.ts';

const catcher = await startMailCatcher(t);
const defaults = loadConfig({});
const { baseUrl, database } = await startApp(t, {
  mail: { ...defaults.mail, smtpUrl: catcher.url, from: 'Parley <noreply@parley.test>' },
  guessRateLimit: { max: 4, windowMs: 60_000 },
  emailCode: { ttlSeconds: 600, perUser: 3, windowMs: 60_000 },
  // A value that reaches a header: it must not start a new one.
  serverName: 'Parley Test\r\nBcc: attacker@evil.test',
});

let address = 0;
/** Each call from its own client address unless one is given (sends are limited per address too). */
const nextAddress = () => `127.0.${Math.floor(++address / 250) + 10}.${(address % 250) + 1}`;

async function sendEmailCode(emailOrUsername: string, options: { localAddress?: string; credentials?: RocketChatCredentials } = {}) {
  return rawRequest(baseUrl, {
    method: 'POST',
    path: '/api/v1/users.2fa.sendEmailCode',
    headers: { 'content-type': 'application/json', ...(options.credentials ? authHeaders(options.credentials) : {}) },
    body: JSON.stringify({ emailOrUsername }),
    localAddress: options.localAddress ?? nextAddress(),
  });
}

/** The code of a received mail, digits only (it is written 123-456). */
function codeOf(mail: ReceivedMail): string {
  const match = /\b(\d{3})-(\d{3})\b/.exec(plainText(mail));
  if (!match) throw new Error(`no code in ${mail.raw}`);
  return match[1] + match[2];
}

interface EmailUser extends TestUser {
  email: string;
  rc: RocketChatCredentials;
}

/** A user with a verified address and email 2FA turned on through the API. */
async function emailUser(): Promise<EmailUser> {
  const user = await registerUser(baseUrl, { password: 'password1' });
  const email = `${user.username}@mail.test`;
  t.equal(await setVerifiedEmail(database.db, user.username, email), 'set');
  const rc = { userId: String(user.id), authToken: user.token };
  const on = await rawCall(baseUrl, 'POST', '/users.2fa.enableEmail', { headers: { ...authHeaders(rc), 'content-type': 'application/json' }, rawBody: '' });
  if (on.status !== 200) throw new Error(`enableEmail: ${on.text}`);
  return { ...user, email, rc };
}

const rcLogin = (user: EmailUser, headers: Record<string, string> = {}) =>
  rawCall(baseUrl, 'POST', '/login', { headers, body: { user: user.username, password: 'password1' } });

t.test('login: the challenge mails a code; the code logs in once, with x-2fa-method: email', async (t) => {
  const user = await emailUser();
  const me = await rawCall(baseUrl, 'GET', '/me', { headers: authHeaders(user.rc) });
  t.match(me.json, { emails: [{ address: user.email, verified: true }], services: { email2fa: { enabled: true }, totp: { enabled: false } } });

  const since = catcher.received.length;
  const challenged = await rcLogin(user);
  t.equal(challenged.status, 401);
  t.same(challenged.json, {
    status: 'error',
    error: 'totp-required',
    message: 'TOTP Required',
    details: { method: 'email', codeGenerated: true, emailOrUsername: user.username, availableMethods: ['email'] },
  });
  const mail = await catcher.next(user.email, since);
  t.equal(mail.from, 'noreply@parley.test');
  t.notMatch(mail.raw, /^Bcc:/im, 'no value adds a header');
  t.match(mail.raw, /^Subject: Your Parley Test Bcc: attacker@evil\.test authentication code$/m, 'the value stays on its own line');
  const code = codeOf(mail);

  const again = await rcLogin(user);
  t.match(again.json, { error: 'totp-required', details: { method: 'email', codeGenerated: false, codeExpires: String } }, 'a live code is not mailed twice');

  const wrong = await rcLogin(user, { 'x-2fa-code': code === '000000' ? '111111' : '000000', 'x-2fa-method': 'email' });
  t.match(wrong.json, { status: 'error', error: 'totp-invalid', details: { method: 'email' } });
  const ok = await rcLogin(user, { 'x-2fa-code': `${code.slice(0, 3)}-${code.slice(3)}`, 'x-2fa-method': 'email' });
  t.equal(ok.status, 200, 'the code as mailed (123-456) logs in');
  const replay = await rcLogin(user, { 'x-2fa-code': code, 'x-2fa-method': 'email' });
  t.equal(replay.status, 401, 'the code works once');
  t.match(replay.json, { error: 'totp-invalid' });

  // The messenger's Basic login asks for the same factor.
  const messenger = await messengerClient(baseUrl, { authorization: basicAuth(user.username, 'password1') }).POST('/users/login', { body: { deviceInfo: deviceInfo() } });
  t.equal(messenger.response.status, 401, 'the messenger login needs the emailed code too');
});

t.test('users.2fa.sendEmailCode, then the code on a 2FA-guarded route', async (t) => {
  const user = await emailUser();
  const since = catcher.received.length;
  const sent = await sendEmailCode(user.email);
  t.equal(sent.status, 200);
  t.same(sent.json, { success: true });
  const code = codeOf(await catcher.next(user.email, since));

  const guarded = '/e2e.setUserPublicAndPrivateKeys';
  const body = { public_key: '{"kty":"RSA"}', private_key: 'blob' };
  const password = await rawCall(baseUrl, 'POST', guarded, { headers: { ...authHeaders(user.rc), 'x-2fa-code': 'password1', 'x-2fa-method': 'password' }, body });
  t.equal(password.status, 400, 'with email 2FA on, the password is no longer the proof');
  t.match(password.json, { errorType: 'totp-invalid', details: { method: 'email' } });
  const proved = await rawCall(baseUrl, 'POST', guarded, { headers: { ...authHeaders(user.rc), 'x-2fa-code': code, 'x-2fa-method': 'email' }, body });
  t.equal(proved.status, 200, proved.text);
  const replay = await rawCall(baseUrl, 'POST', guarded, { headers: { ...authHeaders(user.rc), 'x-2fa-code': code, 'x-2fa-method': 'email' }, body: { ...body, force: true } });
  t.match(replay.json, { success: false, errorType: 'totp-invalid' }, 'spent');

  const before = catcher.received.length;
  const none = await rawCall(baseUrl, 'POST', guarded, { headers: authHeaders(user.rc), body: { ...body, force: true } });
  t.equal(none.status, 400);
  t.same(none.json, {
    success: false,
    error: 'TOTP Required [totp-required]',
    errorType: 'totp-required',
    details: { method: 'email', codeGenerated: true, emailOrUsername: user.username, availableMethods: ['email'] },
  });
  await catcher.next(user.email, before);
});

t.test('the caller of sendEmailCode with a session gets the code; strangers learn nothing', async (t) => {
  const user = await emailUser();
  const since = catcher.received.length;
  t.same((await sendEmailCode('someone-else', { credentials: user.rc })).json, { success: true });
  await catcher.next(user.email, since);

  const plain = await registerUser(baseUrl);
  await setVerifiedEmail(database.db, plain.username, `${plain.username}@mail.test`);
  const count = catcher.received.length;
  for (const name of ['nobody-here', 'nobody@mail.test', plain.username]) {
    const answer = await sendEmailCode(name);
    t.same([answer.status, answer.json], [200, { success: true }], `${name}: the same answer`);
  }
  const missing = await sendEmailCode('');
  t.equal(missing.status, 400);
  t.match(missing.json, { success: false });
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(catcher.received.length, count, 'no mail to unknown users or users without email 2FA');
});

t.test('wrong codes count as 2FA guesses; an expired code is refused', async (t) => {
  const user = await emailUser();
  const since = catcher.received.length;
  await sendEmailCode(user.username);
  const code = codeOf(await catcher.next(user.email, since));
  const wrongCode = code === '000000' ? '111111' : '000000';
  for (let i = 0; i < 4; i++) {
    const wrong = await rcLogin(user, { 'x-2fa-code': wrongCode, 'x-2fa-method': 'email' });
    t.equal(wrong.status, 401, `wrong code ${i + 1}`);
  }
  const limited = await rcLogin(user, { 'x-2fa-code': code, 'x-2fa-method': 'email' });
  t.equal(limited.status, 429, 'over GUESS_RATE_LIMIT even the right code waits');
  t.match(limited.json, { error: 'totp-max-attempts' });

  const other = await emailUser();
  const mark = catcher.received.length;
  await sendEmailCode(other.username);
  const otherCode = codeOf(await catcher.next(other.email, mark));
  await database.db.update(emailTwoFactor).set({ codeExpiresAt: new Date(Date.now() - 1000) }).where(eq(emailTwoFactor.userId, other.id));
  const expired = await rcLogin(other, { 'x-2fa-code': otherCode, 'x-2fa-method': 'email' });
  t.equal(expired.status, 401);
  t.match(expired.json, { error: 'totp-invalid' }, 'an expired code is refused');
});

t.test('sends are limited per user (silently) and per client address (429)', async (t) => {
  const user = await emailUser();
  const since = catcher.received.length;
  for (let i = 0; i < 5; i++) t.equal((await sendEmailCode(user.username)).status, 200);
  await catcher.next(user.email, since);
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(catcher.received.slice(since).filter((m) => m.to.includes(user.email)).length, 3, 'TWO_FACTOR_EMAIL_RATE_LIMIT codes per user');

  const from = nextAddress();
  const answers = [];
  for (let i = 0; i < 4; i++) answers.push((await sendEmailCode('nobody-at-all', { localAddress: from })).status);
  t.same(answers, [200, 200, 200, 429], 'and as many requests per client address');
});

t.test('turning email 2FA off needs a code; then login needs none', async (t) => {
  const user = await emailUser();
  const json = { ...authHeaders(user.rc), 'content-type': 'application/json' };
  const refused = await rawCall(baseUrl, 'POST', '/users.2fa.disableEmail', { headers: json, rawBody: '' });
  t.equal(refused.status, 400);
  t.match(refused.json, { errorType: 'totp-required', details: { method: 'email', codeGenerated: true } });
  const code = codeOf(await catcher.next(user.email));
  const off = await rawCall(baseUrl, 'POST', '/users.2fa.disableEmail', { headers: { ...json, 'x-2fa-code': code, 'x-2fa-method': 'email' }, rawBody: '' });
  t.same(off.json, { success: true });
  t.equal((await rcLogin(user)).status, 200, 'no second factor any more');
  const me = await login(baseUrl, user.username, 'password1');
  t.match((await rawCall(baseUrl, 'GET', '/me', { headers: authHeaders(me) })).json, { services: { email2fa: { enabled: false } } });

  // Without a verified address the switch alone asks for nothing (Rocket.Chat's EmailCheck.isEnabled).
  const unverified = await registerUser(baseUrl, { password: 'password1' });
  const rc = { userId: String(unverified.id), authToken: unverified.token };
  t.same((await rawCall(baseUrl, 'POST', '/users.2fa.enableEmail', { headers: { ...authHeaders(rc), 'content-type': 'application/json' }, rawBody: '' })).json, { success: true });
  t.equal((await rawCall(baseUrl, 'POST', '/login', { body: { user: unverified.username, password: 'password1' } })).status, 200);
});
