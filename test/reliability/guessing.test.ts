// Guessing: logins per account and per address, account keys and current passwords are
// rate-limited; one more attempt than the limit answers 429 in the envelope with Retry-After.
import t from 'tap';
import { startApp } from '../helpers/app.ts';
import { basicAuth, deviceInfo, messengerClient, registerUser } from '../helpers/messenger.ts';

const PER_ACCOUNT = 3;
const PER_IP = 8;
const GUESSES = 3;
const { baseUrl } = await startApp(t, {
  loginRateLimit: { perAccount: PER_ACCOUNT, perAccountCeiling: 10 * PER_ACCOUNT, perIp: PER_IP, windowMs: 60_000 },
  guessRateLimit: { max: GUESSES, windowMs: 60_000 },
});

const login = (username: string, password: string) =>
  messengerClient(baseUrl, { authorization: basicAuth(username, password) }).POST('/users/login', { body: { deviceInfo: deviceInfo() } });

let ipAttempts = 0;

t.test('login per account and address', async (t) => {
  const user = await registerUser(baseUrl, { password: 'password1' });
  for (let i = 1; i <= PER_ACCOUNT; i++) {
    ipAttempts += 1;
    t.equal((await login(user.username, 'wrong-guess')).response.status, 401, `guess ${i} is only wrong`);
  }
  ipAttempts += 1;
  const limited = await login(user.username, 'wrong-guess');
  t.equal(limited.response.status, 429, 'one more than the limit');
  t.same(Object.keys(limited.error ?? {}), ['error', 'reason'], 'messenger envelope');
  t.ok(Number(limited.response.headers.get('retry-after')) >= 1, 'Retry-After in seconds');
  ipAttempts += 1;
  t.equal((await login(user.username, 'password1')).response.status, 429, 'even the right password waits');
  t.equal((await user.api.GET('/users/me')).response.status, 200, 'existing sessions are unaffected');
});

t.test('login per address', async (t) => {
  let status = 0;
  let attempts = 0;
  // Different accounts each time: only the per-address limit can stop them.
  while (ipAttempts < PER_IP) {
    ipAttempts += 1;
    attempts += 1;
    status = (await login(`nobody${attempts}x`, 'password1')).response.status;
    t.equal(status, 401, `attempt ${ipAttempts} from this address`);
  }
  const limited = await login('someoneelse', 'password1');
  t.equal(limited.response.status, 429, `attempt ${PER_IP + 1} from this address`);
  t.equal(limited.error?.error, true, 'messenger envelope');
  t.ok(limited.response.headers.get('retry-after'), 'Retry-After');
});

t.test('account-key reset', async (t) => {
  const user = await registerUser(baseUrl, { password: 'password1' });
  const anonymous = messengerClient(baseUrl);
  for (let i = 1; i <= GUESSES; i++) {
    const { response } = await anonymous.PUT('/users/resetPassword', { body: { userId: user.id, accountKey: 'w'.repeat(30), newPassword: 'password2' } });
    t.ok([403, 404].includes(response.status), `guess ${i} refused (${response.status})`);
  }
  const limited = await anonymous.POST('/users/resetPassword', { body: { userId: user.id, accountKey: 'w'.repeat(30), newPassword: 'password2' } });
  t.equal(limited.response.status, 429, 'one more than the limit, on either path');
  t.equal(limited.error?.error, true, 'messenger envelope');
  t.ok(Number(limited.response.headers.get('retry-after')) >= 1, 'Retry-After');
});

t.test('current password on change', async (t) => {
  const user = await registerUser(baseUrl, { password: 'password1' });
  for (let i = 1; i <= GUESSES; i++) {
    const { response } = await user.api.PUT('/users/me/password', { body: { currentPassword: 'wrong-guess', newPassword: 'password2' } });
    t.equal(response.status, 403, `guess ${i} is only wrong`);
  }
  const limited = await user.api.PUT('/users/me/changePassword', { body: { oldPassword: 'password1', newPassword: 'password2' } });
  t.equal(limited.response.status, 429, 'one more than the limit, even with the right password');
  t.ok(limited.response.headers.get('retry-after'), 'Retry-After');
});
