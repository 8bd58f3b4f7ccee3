// TOTP two-factor authentication end to end: enrolment with codes computed from the
// secret, backup codes, replay, rate limit, every login path, method.call, admin reset,
// and roles/permissions.
import t from 'tap';
import { loadConfig } from '../../src/config.ts';
import { startApp } from '../helpers/app.ts';
import { basicAuth, deviceInfo, messengerClient, registerUser } from '../helpers/messenger.ts';
import { authHeaders, login, rawCall, rocketchatClient, totpCode, type RocketChatCredentials } from '../helpers/rocketchat.ts';

const { baseUrl } = await startApp(t, {
  initialAdmin: { username: 'totpadmin', password: 'password1' },
  guessRateLimit: { max: 4, windowMs: 60_000 },
  serverName: 'Parley Test',
});

// Enabling needs a fresh proof: the password as Rocket.Chat's x-2fa-code (method password).
const passwordProof = (password: string) => ({ 'x-2fa-code': password, 'x-2fa-method': 'password' as const });

async function enrol(credentials: RocketChatCredentials, password = 'password1') {
  const api = rocketchatClient(baseUrl, credentials);
  const { data } = await api.POST('/users.2fa.totp.enable', { params: { header: passwordProof(password) } });
  const confirmed = await api.POST('/users.2fa.totp.validate', { body: { code: await totpCode(data!.secret) } });
  return { secret: data!.secret, codes: confirmed.data!.codes };
}

t.test('enable, confirm, log in with a code, backup codes, disable', async (t) => {
  const user = await registerUser(baseUrl, { password: 'password1' });
  const rc = await login(baseUrl, user.username, 'password1');
  const api = rocketchatClient(baseUrl, rc);

  const enabled = await api.POST('/users.2fa.totp.enable', { params: { header: passwordProof('password1') } });
  t.equal(enabled.response.status, 200);
  const secret = enabled.data!.secret;
  t.match(secret, /^[A-Z2-7]{32}$/, 'a 160-bit base32 secret');
  t.equal(enabled.data!.url, `otpauth://totp/Parley%20Test:${user.username}?secret=${secret}&issuer=Parley%20Test`);

  const stillOff = await login(baseUrl, user.username, 'password1');
  t.ok(stillOff.authToken, 'TOTP is not on before it is confirmed');

  const wrong = await api.POST('/users.2fa.totp.validate', { body: { code: '12345' } });
  t.equal(wrong.response.status, 400);
  t.same(wrong.error, { success: false, error: '[invalid-totp]', errorType: 'invalid-totp' });

  const confirmed = await api.POST('/users.2fa.totp.validate', { body: { code: await totpCode(secret) } });
  t.equal(confirmed.response.status, 200);
  const codes = confirmed.data!.codes;
  t.equal(codes.length, 12, '12 backup codes');
  t.equal(new Set(codes).size, 12);
  for (const code of codes) t.match(code, /^[23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz]{8}$/);
  t.equal((await rawCall(baseUrl, 'GET', '/me', { headers: authHeaders(stillOff) })).status, 401, 'confirming ended the other sessions');

  const me = await api.GET('/me');
  t.equal(me.data?.services.totp.enabled, true);
  t.notMatch(JSON.stringify(me.data), secret, 'the secret is never returned again');
  t.notOk(JSON.stringify(me.data).includes(codes[0]));

  const noCode = await rawCall(baseUrl, 'POST', '/login', { body: { user: user.username, password: 'password1' } });
  t.equal(noCode.status, 401);
  t.equal(
    noCode.text,
    JSON.stringify({ status: 'error', error: 'totp-required', message: 'TOTP Required', details: { method: 'totp', codeGenerated: false, availableMethods: ['totp'] } }),
  );
  const badCode = await rawCall(baseUrl, 'POST', '/login', { body: { user: user.username, password: 'password1', code: '00000a' } });
  t.equal(badCode.status, 401);
  t.same(badCode.json, { status: 'error', error: 'totp-invalid', message: 'TOTP Invalid', details: { method: 'totp', codeGenerated: false } });

  const code = await totpCode(secret, 1);
  const withCode = await login(baseUrl, user.username, 'password1', code);
  t.ok(withCode.authToken, 'login with a TOTP code');
  const replay = await rawCall(baseUrl, 'POST', '/login', { body: { user: user.username, password: 'password1', code } });
  t.equal(replay.status, 401, 'the same code cannot be used twice');
  t.equal((replay.json as { error: string }).error, 'totp-invalid');
  const older = await rawCall(baseUrl, 'POST', '/login', { body: { user: user.username, password: 'password1', code: await totpCode(secret, -1) } });
  t.equal(older.status, 401, 'nor a code older than the last one used');

  const byHeader = await rawCall(baseUrl, 'POST', '/login', { headers: { 'x-2fa-code': codes[0] }, body: { username: user.username, password: 'password1' } });
  t.equal(byHeader.status, 200, 'a backup code in the X-2FA-Code header');
  const usedBackup = await rawCall(baseUrl, 'POST', '/login', { body: { user: user.username, password: 'password1', code: codes[0] } });
  t.equal(usedBackup.status, 401, 'a backup code is single use');

  const api2 = rocketchatClient(baseUrl, withCode);
  t.same((await api2.GET('/users.2fa.totp.codesRemaining')).data, { remaining: 11, success: true });
  const regenerated = await api2.POST('/users.2fa.totp.regenerateCodes', { body: { code: codes[1] } });
  t.equal(regenerated.data?.codes.length, 12, 'regenerating needs a valid code');
  const oldCode = await rawCall(baseUrl, 'POST', '/login', { body: { user: user.username, password: 'password1', code: codes[2] } });
  t.equal(oldCode.status, 401, 'the old backup codes are gone');
  const badRegenerate = await api2.POST('/users.2fa.totp.regenerateCodes', { body: { code: 'nope' } });
  t.equal(badRegenerate.response.status, 400);

  const badDisable = await api2.POST('/users.2fa.totp.disable', { body: { code: '123456' === (await totpCode(secret)) ? '654321' : '123456' } });
  t.equal(badDisable.response.status, 400, 'disable needs a valid code');
  t.equal((badDisable.error as { errorType?: string })?.errorType, 'invalid-totp');
  const disabled = await api2.POST('/users.2fa.totp.disable', { body: { code: regenerated.data!.codes[0] } });
  t.equal(disabled.response.status, 200);
  t.ok((await login(baseUrl, user.username, 'password1')).authToken, 'no code needed once disabled');
});

t.test('the messenger login needs X-2FA-Code too, and tokens work across surfaces', async (t) => {
  const user = await registerUser(baseUrl, { password: 'password1' });
  const rc = await login(baseUrl, user.username, 'password1');
  const me = await messengerClient(baseUrl, { authorization: `Bearer ${rc.authToken}` }).GET('/users/me');
  t.equal(me.response.status, 200, 'an authToken from /api/v1/login is a Bearer token on /api');
  t.equal(me.data?.info.id, user.id);
  const rcMe = await rocketchatClient(baseUrl, { userId: String(user.id), authToken: user.token }).GET('/me');
  t.equal(rcMe.data?._id, String(user.id), 'and a messenger token works with X-Auth-Token');

  const { codes } = await enrol(rc);
  const basic = (headers: Record<string, string> = {}) =>
    messengerClient(baseUrl, { authorization: basicAuth(user.username, 'password1'), ...headers }).POST('/users/login', { body: { deviceInfo: deviceInfo() } });
  const without = await basic();
  t.equal(without.response.status, 401, 'Basic login without a code is refused');
  t.same(without.error, { error: true, reason: 'TOTP Required [totp-required]' });
  const wrong = await basic({ 'x-2fa-code': 'zzzzzzzz' });
  t.equal(wrong.response.status, 401);
  t.same(wrong.error, { error: true, reason: 'TOTP Invalid [totp-invalid]' });
  const right = await basic({ 'x-2fa-code': codes[3] });
  t.equal(right.response.status, 200, 'with a valid code it logs in');

  const logout = await rocketchatClient(baseUrl, rc).POST('/logout');
  t.same(logout.data, { status: 'success', data: { message: "You've been logged out!" } });
  const gone = await messengerClient(baseUrl, { authorization: `Bearer ${rc.authToken}` }).GET('/users/me');
  t.equal(gone.response.status, 401, 'logging out on /api/v1 ends the session everywhere');
});

t.test('failed codes are rate-limited', async (t) => {
  const user = await registerUser(baseUrl, { password: 'password1' });
  const rc = await login(baseUrl, user.username, 'password1');
  const { codes } = await enrol(rc);
  const attempt = (code: string) =>
    rawCall(baseUrl, 'POST', '/e2e.resetOwnE2EKey', { headers: { ...authHeaders(rc), 'x-2fa-code': code } });
  for (let i = 0; i < 4; i++) t.equal((await attempt('aaaaaaaa')).status, 400, `wrong code ${i + 1}`);
  const limited = await attempt(codes[0]);
  t.equal(limited.status, 429, 'past the limit even a right code is refused');
  t.same(limited.json, {
    success: false,
    error: 'TOTP Maximun Failed Attempts Reached [totp-max-attempts]',
    errorType: 'totp-max-attempts',
    details: { method: 'totp', codeGenerated: false },
  });
  const loginLimited = await rawCall(baseUrl, 'POST', '/login', { body: { user: user.username, password: 'password1', code: codes[0] } });
  t.equal(loginLimited.status, 429, 'on login too');
  t.equal((loginLimited.json as { error: string }).error, 'totp-max-attempts');
});

t.test('method.call in Rocket.Chat format', async (t) => {
  const user = await registerUser(baseUrl, { password: 'password1' });
  const rc = await login(baseUrl, user.username, 'password1');
  const api = rocketchatClient(baseUrl, rc);
  const call = async (method: string, params: unknown[] = [], headers: Record<string, string> = {}) => {
    const { data, response } = await api.POST('/method.call/{method}', {
      params: { path: { method }, header: headers as never },
      body: { message: JSON.stringify({ msg: 'method', id: '7', method, params }) },
    });
    t.equal(response.status, 200, method);
    return JSON.parse(data!.message) as { msg: string; id: string; result?: { secret?: string; url?: string; codes?: string[] } | boolean; error?: unknown };
  };
  const enabled = await call('2fa:enable', [], passwordProof('password1'));
  t.equal(enabled.msg, 'result');
  t.equal(enabled.id, '7');
  const { secret, url } = enabled.result as { secret: string; url: string };
  t.match(url, /^otpauth:\/\/totp\//);

  const wrong = await call('2fa:validateTempToken', ['000000' === (await totpCode(secret)) ? '111111' : '000000']);
  t.same(wrong, { msg: 'result', id: '7', error: { isClientSafe: true, error: 'invalid-totp', message: '[invalid-totp]', errorType: 'Meteor.Error' } });
  const validated = await call('2fa:validateTempToken', [await totpCode(secret)]);
  const codes = (validated.result as { codes: string[] }).codes;
  t.equal(codes.length, 12);
  t.same((await call('2fa:checkCodesRemaining')).result, { remaining: 12 });
  t.equal((await call('2fa:regenerateCodes', ['wrong'])).result, undefined, 'a wrong code regenerates nothing');
  const regenerated = (await call('2fa:regenerateCodes', [codes[0]])).result as { codes: string[] };
  t.equal(regenerated.codes.length, 12);
  t.equal((await call('2fa:disable', ['wrongcod'])).result, false);
  t.equal((await call('2fa:disable', [regenerated.codes[0]])).result, true);
  t.same((await call('2fa:checkCodesRemaining')).error, { isClientSafe: true, error: 'invalid-totp', message: '[invalid-totp]', errorType: 'Meteor.Error' });

  // Only registered methods dispatch: an object's own machinery is as unknown as any other name.
  for (const name of ['no:such', 'constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
    const { response, error } = await api.POST('/method.call/{method}', {
      params: { path: { method: name } },
      body: { message: JSON.stringify({ msg: 'method', id: '7', method: name, params: [] }) },
    });
    t.equal(response.status, 404, `${name} is not a method`);
    t.same(error, { success: false, error: `Method '${name}' not found [method-not-found]`, errorType: 'method-not-found' }, `${name}: Rocket.Chat envelope`);
  }
  t.equal(await call('e2e.requestSubscriptionKeys').then((r) => r.result), true);

  const anonymous = await rawCall(baseUrl, 'POST', '/method.call/2fa:enable', { body: { message: '{}' } });
  t.equal(anonymous.status, 401);
});

t.test('roles and permissions: users.resetTOTP', async (t) => {
  const admin = await login(baseUrl, 'totpadmin', 'password1');
  const adminMe = await rocketchatClient(baseUrl, admin).GET('/me');
  t.same(adminMe.data?.roles, ['user', 'admin'], 'PARLEY_ADMIN_USERNAME created an administrator');

  const user = await registerUser(baseUrl, { password: 'password1' });
  const rc = await login(baseUrl, user.username, 'password1');
  const { codes } = await enrol(rc);

  const other = await registerUser(baseUrl, { password: 'password2' });
  const denied = await rawCall(baseUrl, 'POST', '/users.resetTOTP', {
    headers: { ...authHeaders({ userId: String(other.id), authToken: other.token }), 'x-2fa-code': 'password2' },
    body: { userId: String(user.id) },
  });
  t.equal(denied.status, 400, 'a user without edit-other-user-totp');
  t.equal(denied.text, JSON.stringify({ success: false, error: 'Not allowed [error-not-allowed]', errorType: 'error-not-allowed' }));

  const needsCode = await rawCall(baseUrl, 'POST', '/users.resetTOTP', { headers: authHeaders(admin), body: { username: user.username.toUpperCase() } });
  t.equal(needsCode.status, 400);
  t.same(needsCode.json, {
    success: false,
    error: 'TOTP Required [totp-required]',
    errorType: 'totp-required',
    details: { method: 'password', codeGenerated: false, availableMethods: [] },
  }, 'an admin without TOTP confirms with the password method');
  const wrongPassword = await rawCall(baseUrl, 'POST', '/users.resetTOTP', { headers: { ...authHeaders(admin), 'x-2fa-code': 'password9' }, body: { userId: String(user.id) } });
  t.equal((wrongPassword.json as { errorType: string }).errorType, 'totp-invalid');
  const reset = await rawCall(baseUrl, 'POST', '/users.resetTOTP', { headers: { ...authHeaders(admin), 'x-2fa-code': 'password1' }, body: { username: user.username.toUpperCase() } });
  t.equal(reset.status, 200, 'an admin resets it');
  t.equal((await rawCall(baseUrl, 'GET', '/me', { headers: authHeaders(rc) })).status, 401, "the user's sessions ended");
  t.ok((await login(baseUrl, user.username, 'password1')).authToken, 'and they log in without a code');
  t.ok(codes.length);
});

t.test('PARLEY_ADMIN_PASSWORD is checked at start-up', async (t) => {
  t.throws(() => loadConfig({ PARLEY_ADMIN_USERNAME: 'admin1', PARLEY_ADMIN_PASSWORD: 'short' }), /PARLEY_ADMIN_PASSWORD must be 8 to 25 characters/);
  t.throws(() => loadConfig({ PARLEY_ADMIN_USERNAME: 'admin1' }), /must be set together/);
  t.same(loadConfig({ PARLEY_ADMIN_USERNAME: 'Admin1', PARLEY_ADMIN_PASSWORD: 'password1' }).initialAdmin, { username: 'admin1', password: 'password1' });
});
