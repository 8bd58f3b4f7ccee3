// A stolen token alone cannot take an account over: turning TOTP on or off, regenerating
// backup codes, setting the E2E key pair or the account key, and deleting the account need a
// fresh proof (the password, or with TOTP on a current code), on every surface and route.
// Each refusal leaves the account as it was; wrong passwords count as guesses.
import { createHash } from 'node:crypto';
import t from 'tap';
import { eq } from 'drizzle-orm';
import { e2eUserKeys, totpEnrolments, users } from '../../src/db/schema/index.ts';
import { startApp } from '../helpers/app.ts';
import { messengerClient, registerUser, type TestUser } from '../helpers/messenger.ts';
import { authHeaders, login, rawCall, rocketchatClient, totpCode, type RocketChatCredentials } from '../helpers/rocketchat.ts';

const GUESSES = 6;
const { baseUrl, database } = await startApp(t, { guessRateLimit: { max: GUESSES, windowMs: 60_000 } });
const db = database.db;

const rcOf = (user: TestUser): RocketChatCredentials => ({ userId: String(user.id), authToken: user.token });
const passwordProof = (password: string) => ({ 'x-2fa-code': password, 'x-2fa-method': 'password' });
const totpRow = async (userId: number) => (await db.select().from(totpEnrolments).where(eq(totpEnrolments.userId, userId)))[0];
const keysOf = async (userId: number) => (await db.select().from(e2eUserKeys).where(eq(e2eUserKeys.userId, userId)))[0];
const accountExists = async (userId: number) => (await db.select({ id: users.id }).from(users).where(eq(users.id, userId))).length === 1;

/** A DDP call over /method.call, its parsed DDP answer. */
async function methodCall(credentials: RocketChatCredentials, method: string, params: unknown[] = [], headers: Record<string, string> = {}) {
  const answer = await rawCall(baseUrl, 'POST', `/method.call/${method}`, {
    headers: { ...authHeaders(credentials), ...headers },
    body: { message: JSON.stringify({ msg: 'method', id: '1', method, params }) },
  });
  if (answer.status !== 200) throw new Error(`method.call ${method}: ${answer.status} ${answer.text}`);
  return JSON.parse((answer.json as { message: string }).message) as { result?: unknown; error?: { error: string; details?: { method: string } } };
}

/** Turns TOTP on with the password as proof; the secret and backup codes. */
async function enrol(user: TestUser) {
  const api = rocketchatClient(baseUrl, rcOf(user));
  const enabled = await api.POST('/users.2fa.totp.enable', { params: { header: { 'x-2fa-code': user.password, 'x-2fa-method': 'password' } } });
  const secret = enabled.data!.secret;
  const confirmed = await api.POST('/users.2fa.totp.validate', { body: { code: await totpCode(secret) } });
  return { secret, codes: confirmed.data!.codes };
}

t.test('enabling TOTP: a token alone is refused on every route, the password enables it', async (t) => {
  const user = await registerUser(baseUrl, { password: 'password1' });
  const rc = rcOf(user);

  const tokenOnly = await rawCall(baseUrl, 'POST', '/users.2fa.totp.enable', { headers: authHeaders(rc) });
  t.equal(tokenOnly.status, 400);
  t.same(tokenOnly.json, {
    success: false,
    error: 'TOTP Required [totp-required]',
    errorType: 'totp-required',
    details: { method: 'password', codeGenerated: false, availableMethods: [] },
  }, "Rocket.Chat's two-factor answer, so its clients ask for the password and retry");
  const wrong = await rawCall(baseUrl, 'POST', '/users.2fa.totp.enable', { headers: { ...authHeaders(rc), ...passwordProof('password2') } });
  t.same(wrong.json, { success: false, error: 'TOTP Invalid [totp-invalid]', errorType: 'totp-invalid', details: { method: 'password', codeGenerated: false } });
  const ddp = await methodCall(rc, '2fa:enable');
  t.equal(ddp.error?.error, 'totp-required', 'method.call 2fa:enable too');
  t.equal(ddp.error?.details?.method, 'password');
  t.equal(await totpRow(user.id), undefined, 'no enrolment was started');
  t.equal((await rocketchatClient(baseUrl, rc).GET('/me')).data?.services.totp.enabled, false);

  const byMethod = await methodCall(rc, '2fa:enable', [], passwordProof('password1'));
  t.match(byMethod.result, { secret: /^[A-Z2-7]+$/ }, 'method.call with the password starts enrolment');
  const { secret } = await enrol(user);
  t.match(secret, /^[A-Z2-7]+$/, 'the REST route with the password starts it');
  t.equal((await totpRow(user.id))?.enabled, true, 'and a first code confirms it');
});

t.test('disabling TOTP and regenerating codes need a current code', async (t) => {
  const user = await registerUser(baseUrl, { password: 'password1' });
  const { secret, codes } = await enrol(user);
  const rc = await login(baseUrl, user.username, 'password1', codes[0]);
  const before = await totpRow(user.id);

  const noCode = await rawCall(baseUrl, 'POST', '/users.2fa.totp.disable', { headers: authHeaders(rc), body: {} });
  t.equal(noCode.status, 400, 'disable without a code');
  const withPassword = await rawCall(baseUrl, 'POST', '/users.2fa.totp.disable', { headers: authHeaders(rc), body: { code: 'password1' } });
  t.equal((withPassword.json as { errorType: string }).errorType, 'invalid-totp', 'with TOTP on, the password is no proof');
  t.equal((await methodCall(rc, '2fa:disable', [])).result, false, 'method.call 2fa:disable without a code');
  const noRegenerate = await rawCall(baseUrl, 'POST', '/users.2fa.totp.regenerateCodes', { headers: authHeaders(rc), body: { code: '' } });
  t.equal(noRegenerate.status, 400, 'regenerate without a code');
  t.equal((await methodCall(rc, '2fa:regenerateCodes', [])).result, undefined, 'method.call 2fa:regenerateCodes without a code');
  const after = await totpRow(user.id);
  t.equal(after?.enabled, true, 'TOTP is still on');
  t.same(after?.backupCodeHashes, before?.backupCodeHashes, 'the backup codes are unchanged');

  const regenerated = await methodCall(rc, '2fa:regenerateCodes', [codes[1]]);
  t.equal((regenerated.result as { codes: string[] }).codes.length, 12, 'a backup code regenerates them');
  const disabled = await rawCall(baseUrl, 'POST', '/users.2fa.totp.disable', { headers: authHeaders(rc), body: { code: await totpCode(secret, 1) } });
  t.equal(disabled.status, 200, 'a current TOTP code turns it off');
  t.equal(await totpRow(user.id), undefined);
});

t.test('setting the E2E key pair: password without TOTP, a code with it', async (t) => {
  const user = await registerUser(baseUrl, { password: 'password1' });
  const rc = rcOf(user);
  const set = (headers: Record<string, string>, body: { public_key: string; private_key: string; force?: boolean }) =>
    rawCall(baseUrl, 'POST', '/e2e.setUserPublicAndPrivateKeys', { headers: { ...authHeaders(rc), ...headers }, body });

  const tokenOnly = await set({}, { public_key: 'attacker', private_key: 'attacker' });
  t.equal(tokenOnly.status, 400);
  t.equal((tokenOnly.json as { errorType: string }).errorType, 'totp-required');
  t.equal(await keysOf(user.id), undefined, 'no key pair was set');
  t.equal((await set(passwordProof('password1'), { public_key: 'mine', private_key: 'mine' })).status, 200, 'with the password');

  const { codes } = await enrol(user);
  const rcAfter = await login(baseUrl, user.username, 'password1', codes[0]);
  const setAfter = (headers: Record<string, string>) =>
    rawCall(baseUrl, 'POST', '/e2e.setUserPublicAndPrivateKeys', {
      headers: { ...authHeaders(rcAfter), ...headers },
      body: { public_key: 'attacker', private_key: 'attacker', force: true },
    });
  const forced = await setAfter({});
  t.same((forced.json as { details: unknown }).details, { method: 'totp', codeGenerated: false, availableMethods: ['totp'] }, 'with TOTP on a code is asked');
  const byPassword = await setAfter(passwordProof('password1'));
  t.equal((byPassword.json as { errorType: string }).errorType, 'totp-invalid', 'and the password is no longer enough');
  t.match(await keysOf(user.id), { publicKey: 'mine', privateKey: 'mine' }, 'the key pair is unchanged');
  t.equal((await setAfter({ 'x-2fa-code': codes[1] })).status, 200, 'a backup code replaces it');
  t.equal((await keysOf(user.id))?.publicKey, 'attacker');
});

t.test('deleting the account with a Bearer token and setting the account key (messenger)', async (t) => {
  const user = await registerUser(baseUrl, { password: 'password1' });
  const tokenOnly = await user.api.DELETE('/users/me');
  t.equal(tokenOnly.response.status, 401);
  t.same(tokenOnly.error, { error: true, reason: 'This needs a fresh proof: send the current password' });
  const wrong = await user.api.DELETE('/users/me', { body: { password: 'password2' } });
  t.equal(wrong.response.status, 403);
  t.same(wrong.error, { error: true, reason: 'Invalid password' });
  t.ok(await accountExists(user.id), 'the account still exists');

  const { secret, codes } = await enrol(user);
  const session = await login(baseUrl, user.username, 'password1', codes[0]);
  const bearer = messengerClient(baseUrl, { authorization: `Bearer ${session.authToken}` });
  const key = 'k'.repeat(30);
  const keyByPassword = await bearer.PUT('/users/me/accountKey', { body: { password: 'password1', accountKey: key } });
  t.equal(keyByPassword.response.status, 401, 'with TOTP on the account key needs a code as well');
  t.same(keyByPassword.error, { error: true, reason: 'This needs a fresh proof: send a current two-factor code (X-2FA-Code)' });
  const keyWrongPassword = await bearer.PUT('/users/me/setAccountKey', {
    params: { header: { 'X-2FA-Code': codes[1] } },
    body: { password: 'password2', accountKey: key },
  });
  t.equal(keyWrongPassword.response.status, 403, 'the password is still checked');
  t.equal((await db.select().from(users).where(eq(users.id, user.id)))[0].accountKeyHash, null, 'no account key was set');
  const keySet = await bearer.PUT('/users/me/accountKey', {
    params: { header: { 'X-2FA-Code': codes[2] } },
    body: { password: 'password1', accountKey: key },
  });
  t.equal(keySet.response.status, 200, 'password and code set it');

  const byPassword = await bearer.DELETE('/users/me', { body: { password: 'password1' } });
  t.equal(byPassword.response.status, 401, 'with TOTP on the password alone does not delete');
  t.ok(await accountExists(user.id));
  const deleted = await bearer.DELETE('/users/me', { params: { header: { 'X-2FA-Code': await totpCode(secret, 1) } } });
  t.equal(deleted.response.status, 200, 'a current code does');
  t.notOk(await accountExists(user.id), 'the account is gone');
});

t.test('wrong passwords count as guesses on every surface and are rate-limited', async (t) => {
  const user = await registerUser(baseUrl, { password: 'password1' });
  const rc = rcOf(user);
  for (let i = 1; i <= GUESSES / 2; i++) {
    t.equal((await user.api.DELETE('/users/me', { body: { password: `guess${i}` } })).response.status, 403, `messenger guess ${i}`);
    const rcGuess = await rawCall(baseUrl, 'POST', '/e2e.setUserPublicAndPrivateKeys', {
      headers: { ...authHeaders(rc), ...passwordProof(`guess${i}`) },
      body: { public_key: 'p', private_key: 'p' },
    });
    t.equal((rcGuess.json as { errorType: string }).errorType, 'totp-invalid', `Rocket.Chat guess ${i}`);
  }
  const limited = await user.api.DELETE('/users/me', { body: { password: 'password1' } });
  t.equal(limited.response.status, 429, 'past the limit even the right password waits');
  t.ok(Number(limited.response.headers.get('retry-after')) >= 1, 'Retry-After');
  const rcLimited = await rawCall(baseUrl, 'POST', '/users.2fa.totp.enable', { headers: { ...authHeaders(rc), ...passwordProof('password1') } });
  t.equal(rcLimited.status, 429);
  t.same(rcLimited.json, {
    success: false,
    error: 'TOTP Maximun Failed Attempts Reached [totp-max-attempts]',
    errorType: 'totp-max-attempts',
    details: { method: 'password', codeGenerated: false },
  });
  t.ok(await accountExists(user.id));
  t.equal(await totpRow(user.id), undefined);
});

t.test("Rocket.Chat's password method: the sha256 hex of the password, as its clients send it", async (t) => {
  const user = await registerUser(baseUrl, { password: 'password1' });
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  const rc = rcOf(user);
  const set = (code: string) =>
    rawCall(baseUrl, 'POST', '/e2e.setUserPublicAndPrivateKeys', {
      headers: { ...authHeaders(rc), ...passwordProof(code) },
      body: { public_key: 'p', private_key: 'p', force: true },
    });
  await login(baseUrl, user.username, 'password1');
  t.equal(((await set(sha256('password2'))).json as { errorType: string }).errorType, 'totp-invalid', "another password's digest is refused");
  t.equal((await set(sha256('password1'))).status, 200, 'after a Rocket.Chat login the digest of the password is a proof');

  const changed = await user.api.PUT('/users/me/password', { body: { currentPassword: 'password1', newPassword: 'password3' } });
  t.equal(changed.response.status, 200);
  t.equal(((await set(sha256('password1'))).json as { errorType: string }).errorType, 'totp-invalid', 'the old digest dies with the old password');
  t.equal((await set('password3')).status, 200, 'the new password itself is a proof at once');
});
