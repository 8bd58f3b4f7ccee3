// The Users API of seed 004, end to end through the generated client.
import t from 'tap';
import { startApp } from '../helpers/app.ts';
import { basicAuth, deviceInfo, messengerClient, registerUser } from '../helpers/messenger.ts';

const { baseUrl } = await startApp(t);
const anonymous = messengerClient(baseUrl);

t.test('register returns the user with a first device session that authenticates', async (t) => {
  const { data, response } = await anonymous.POST('/users', {
    body: { name: '  Ann   Lee ', username: ' AnnLee1 ', password: 'password1', deviceInfo: deviceInfo('laptop') },
  });
  t.equal(response.status, 200);
  t.equal(data?.info.username, 'annlee1', 'username is trimmed and lowercased');
  t.equal(data?.info.name, 'Ann Lee', 'white space in the name is collapsed');
  t.equal(data?.deviceSessions.length, 1);
  const session = data!.deviceSessions[0];
  t.match(session.accessToken, /^[A-Za-z0-9_-]{43}$/, '256-bit token');
  t.equal(session.deviceInfo.name, 'laptop');

  const me = await messengerClient(baseUrl, { authorization: `Bearer ${session.accessToken}` }).GET('/users/me');
  t.equal(me.response.status, 200);
  t.equal(me.data?.info.id, data?.info.id);
  t.equal(me.data?.deviceSessions[0].id, session.id, 'me answers with the session of the token');
});

t.test('real names with their punctuation are accepted; digits and symbols are not', async (t) => {
  for (const name of ['Anne-Marie', "Sean O'Brien", 'Seán O’Brien', 'J. R. Tolkien', 'Martin Luther King, Jr.', 'Zoë Ångström', 'Nguyễn Văn An']) {
    const { response, data } = await anonymous.POST('/users', {
      body: { name, username: `n${Math.random().toString(36).slice(2, 10)}`, password: 'password1', deviceInfo: deviceInfo() },
    });
    t.equal(response.status, 200, name);
    t.equal(data?.info.name, name, `${name} is kept as written`);
  }
  for (const name of ['-Anne', "'quoted", 'Bob <script>', 'Ann_Lee', 'Ann!']) {
    const { response } = await anonymous.POST('/users', { body: { name, username: 'abcdefg', password: 'password1', deviceInfo: deviceInfo() } });
    t.equal(response.status, 400, `${name} is refused`);
  }
});

t.test('registration errors', async (t) => {
  await registerUser(baseUrl, { username: 'takenname' });
  const taken = await anonymous.POST('/users', {
    body: { name: 'Other', username: 'TakenName', password: 'password1', deviceInfo: deviceInfo() },
  });
  t.equal(taken.response.status, 409, 'duplicate username (case-insensitive)');
  t.same(taken.error, { error: true, reason: 'Username is already taken' });

  for (const [what, body] of [
    ['short username', { name: 'A', username: 'abc', password: 'password1', deviceInfo: deviceInfo() }],
    ['username starting with a digit', { name: 'A', username: '1abcde', password: 'password1', deviceInfo: deviceInfo() }],
    ['short password', { name: 'A', username: 'abcdef', password: 'short', deviceInfo: deviceInfo() }],
    ['long password', { name: 'A', username: 'abcdef', password: 'x'.repeat(26), deviceInfo: deviceInfo() }],
    ['digits in the name', { name: 'R2D2', username: 'abcdef', password: 'password1', deviceInfo: deviceInfo() }],
    ['missing deviceInfo', { name: 'A', username: 'abcdef', password: 'password1' }],
    ['bad device id', { name: 'A', username: 'abcdef', password: 'password1', deviceInfo: { ...deviceInfo(), id: 'nope' } }],
  ] as const) {
    const { response, error } = await anonymous.POST('/users', { body: body as never });
    t.equal(response.status, 400, what);
    t.equal(error?.error, true, `${what}: messenger envelope`);
    t.type(error?.reason, 'string');
  }

  const badJson = await fetch(`${baseUrl}/api/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":' });
  t.equal(badJson.status, 400, 'broken JSON');
  t.same(Object.keys((await badJson.json()) as object), ['error', 'reason']);

  const notJson = await fetch(`${baseUrl}/api/users`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
  t.equal(notJson.status, 415, 'not JSON');
  t.equal(((await notJson.json()) as { error: boolean }).error, true);
});

t.test('login with Basic credentials', async (t) => {
  const user = await registerUser(baseUrl, { password: 'password1' });
  const wrapped = await messengerClient(baseUrl, { authorization: basicAuth(user.username, 'password1') }).POST('/users/login', {
    body: { deviceInfo: deviceInfo('phone') },
  });
  t.equal(wrapped.response.status, 200, 'seed body {deviceInfo}');
  t.not(wrapped.data?.deviceSessions[0].accessToken, user.token, 'each login is a new session');

  const bare = await messengerClient(baseUrl, { authorization: basicAuth(user.username.toUpperCase(), 'password1') }).POST('/users/login', {
    body: deviceInfo('tablet'),
  });
  t.equal(bare.response.status, 200, 'newer clients send a bare DeviceInfo; usernames are case-insensitive');
  t.equal(bare.data?.deviceSessions[0].deviceInfo.name, 'tablet');

  const wrong = await messengerClient(baseUrl, { authorization: basicAuth(user.username, 'password2') }).POST('/users/login', {
    body: { deviceInfo: deviceInfo() },
  });
  t.equal(wrong.response.status, 401, 'wrong password');
  t.same(wrong.error, { error: true, reason: 'Invalid user or password.' });

  const nobody = await messengerClient(baseUrl, { authorization: basicAuth('nobodyhere', 'password1') }).POST('/users/login', {
    body: { deviceInfo: deviceInfo() },
  });
  t.equal(nobody.response.status, 401, 'unknown user answers like a wrong password');
  t.same(nobody.error, wrong.error);

  const none = await anonymous.POST('/users/login', { body: { deviceInfo: deviceInfo() } });
  t.equal(none.response.status, 401, 'no credentials');
});

t.test('tokens: missing, invalid, revoked by logout', async (t) => {
  const user = await registerUser(baseUrl);
  t.equal((await anonymous.GET('/users/me')).response.status, 401, 'missing token');
  const fake = await messengerClient(baseUrl, { authorization: 'Bearer not-a-real-token' }).GET('/users/me');
  t.equal(fake.response.status, 401, 'invalid token');
  t.equal(fake.error?.error, true);

  t.equal((await user.api.GET('/users/me')).response.status, 200, 'the token works (and is now cached)');
  const logout = await user.api.POST('/users/me/logout');
  t.equal(logout.response.status, 200);
  t.equal((await user.api.GET('/users/me')).response.status, 401, 'revoked token');
});

t.test('update profile and device', async (t) => {
  const user = await registerUser(baseUrl, { name: 'Old Name' });
  t.equal((await user.api.GET('/users/me')).data?.info.name, 'Old Name');
  const updated = await user.api.PUT('/users/me', { body: { name: 'New Name', about: 'Hello there', language: 'en' } });
  t.equal(updated.response.status, 200);
  t.equal(updated.data?.name, 'New Name');
  t.equal(updated.data?.about, 'Hello there');
  t.equal(updated.data?.id, user.id, 'id unchanged');
  t.equal(updated.data?.username, user.username, 'username unchanged');
  t.equal((await user.api.GET('/users/me')).data?.info.name, 'New Name', 'the next read sees the change');
  const cleared = await user.api.PUT('/users/me', { body: { language: '' } });
  t.equal(cleared.data?.language, undefined, 'an empty language clears it');
  t.equal((await user.api.PUT('/users/me', { body: { language: 'not a language!' } })).response.status, 400);

  const second = await messengerClient(baseUrl, { authorization: basicAuth(user.username, user.password) }).POST('/users/login', {
    body: { deviceInfo: deviceInfo('second') },
  });
  const device = await user.api.PUT('/users/me/device', { body: { deviceName: 'My laptop', deviceToken: 'push-token' } });
  t.equal(device.response.status, 200);
  t.equal(device.data?.deviceSessions[0].deviceInfo.name, 'My laptop');
  t.equal(device.data?.deviceSessions[0].deviceInfo.token, 'push-token');
  t.equal((await user.api.GET('/users/me')).data?.deviceSessions[0].deviceInfo.name, 'My laptop', 'the next read sees the device');
  const secondApi = messengerClient(baseUrl, { authorization: `Bearer ${second.data!.deviceSessions[0].accessToken}` });
  t.equal((await secondApi.GET('/users/me')).data?.deviceSessions[0].deviceInfo.name, 'second', 'the other session is unaffected');

  // A browser that allowed notifications after logging in becomes a Web Push device.
  const subscription = JSON.stringify({ endpoint: 'https://push.example/abc', keys: { p256dh: 'key', auth: 'secret' } });
  const web = await user.api.PUT('/users/me/device', { body: { deviceName: 'Web browser', deviceToken: subscription, transport: 'web' } });
  t.equal(web.data?.deviceSessions[0].deviceInfo.transport, 'web', 'the transport changes with the token');
  t.equal(web.data?.deviceSessions[0].deviceInfo.token, subscription);
  t.equal((await user.api.PUT('/users/me/device', { body: { deviceName: 'x', transport: 'pigeon' as never } })).response.status, 400, 'an unknown transport is refused');
});

t.test('change password (seed path and newer path)', async (t) => {
  const user = await registerUser(baseUrl, { password: 'password1' });
  const wrong = await user.api.PUT('/users/me/changePassword', { body: { oldPassword: 'nope-nope', newPassword: 'password2' } });
  t.equal(wrong.response.status, 403);
  t.same(wrong.error, { error: true, reason: 'Invalid user or password.' });
  t.equal((await user.api.PUT('/users/me/changePassword', { body: { oldPassword: 'password1', newPassword: 'short' } })).response.status, 400);

  const other = await messengerClient(baseUrl, { authorization: basicAuth(user.username, 'password1') }).POST('/users/login', {
    body: { deviceInfo: deviceInfo() },
  });
  const otherApi = messengerClient(baseUrl, { authorization: `Bearer ${other.data!.deviceSessions[0].accessToken}` });
  t.equal((await otherApi.GET('/users/me')).response.status, 200, 'the other session works before');
  t.equal((await user.api.PUT('/users/me/changePassword', { body: { oldPassword: 'password1', newPassword: 'password2' } })).response.status, 200);
  const login = (password: string) =>
    messengerClient(baseUrl, { authorization: basicAuth(user.username, password) }).POST('/users/login', { body: { deviceInfo: deviceInfo() } });
  t.equal((await login('password1')).response.status, 401, 'old password stops working');
  t.equal((await login('password2')).response.status, 200, 'new password works');
  t.equal((await user.api.GET('/users/me')).response.status, 200, 'the session that changed it stays');
  t.equal((await otherApi.GET('/users/me')).response.status, 401, 'other sessions end');

  t.equal((await user.api.PUT('/users/me/password', { body: { currentPassword: 'password2', newPassword: 'password3' } })).response.status, 200);
  t.equal((await login('password3')).response.status, 200, 'newer path works too');
});

t.test('account key and password reset', async (t) => {
  const user = await registerUser(baseUrl, { password: 'password1' });
  const key = 'k'.repeat(30);
  const reset = (accountKey: string, newPassword = 'password9', method: 'PUT' | 'POST' = 'PUT') => {
    const body = { userId: user.id, accountKey, newPassword };
    return method === 'PUT' ? anonymous.PUT('/users/resetPassword', { body }) : anonymous.POST('/users/resetPassword', { body });
  };

  t.equal((await reset(key)).response.status, 403, 'no key set yet');
  t.equal((await user.api.PUT('/users/me/setAccountKey', { body: { password: 'wrong-one', accountKey: key } })).response.status, 403);
  t.equal((await user.api.PUT('/users/me/setAccountKey', { body: { password: 'password1', accountKey: 'short' } })).response.status, 400);
  t.equal((await user.api.PUT('/users/me/setAccountKey', { body: { password: 'password1', accountKey: key } })).response.status, 200);

  t.equal((await user.api.GET('/users/me')).response.status, 200, 'the session works before the reset');
  const wrongKey = await reset('w'.repeat(30));
  t.equal(wrongKey.response.status, 403);
  t.equal(wrongKey.error?.error, true);
  t.equal((await anonymous.PUT('/users/resetPassword', { body: { userId: 999999, accountKey: key, newPassword: 'password9' } })).response.status, 404);
  t.equal((await reset(key, 'password9', 'POST')).response.status, 200, 'newer method');
  const login = await messengerClient(baseUrl, { authorization: basicAuth(user.username, 'password9') }).POST('/users/login', {
    body: { deviceInfo: deviceInfo() },
  });
  t.equal(login.response.status, 200, 'new password logs in');
  t.equal((await user.api.GET('/users/me')).response.status, 401, 'a reset ends every session');

  t.equal((await user.api.PUT('/users/me/accountKey', { body: { password: 'password1', accountKey: key } })).response.status, 401);
});

t.test('get user and search', async (t) => {
  const ann = await registerUser(baseUrl, { name: 'Demo One', username: 'searchuser1' });
  await registerUser(baseUrl, { name: 'Demo Two', username: 'searchuser2' });
  const byId = await anonymous.GET('/users/{id}', { params: { path: { id: ann.id } } });
  t.equal(byId.response.status, 200, 'no auth needed');
  t.equal(byId.data?.username, 'searchuser1');
  t.equal(byId.data?.about, undefined, 'short info by default');
  const full = await anonymous.GET('/users/{id}', { params: { path: { id: ann.id }, query: { full: '1' } } });
  t.equal(full.response.status, 200);
  t.notOk(full.data && 'lastSeen' in full.data, 'an anonymous caller never sees when the user was last active');
  const viewer = await registerUser(baseUrl);
  const signedIn = await viewer.api.GET('/users/{id}', { params: { path: { id: ann.id }, query: { full: '1' } } });
  t.ok(signedIn.data?.lastSeen, 'a signed-in caller gets lastSeen in full info');
  const revoked = await messengerClient(baseUrl, { authorization: 'Bearer not-a-token' }).GET('/users/{id}', { params: { path: { id: ann.id }, query: { full: '1' } } });
  t.equal(revoked.response.status, 200, 'an invalid token reads as anonymous');
  t.notOk(revoked.data && 'lastSeen' in revoked.data);
  t.equal((await anonymous.GET('/users/{id}', { params: { path: { id: 999999 } } })).response.status, 404);
  t.equal((await fetch(`${baseUrl}/api/users/abc`)).status, 400, 'non-integer id');

  const numeric = await ann.api.GET('/users', { params: { query: { s: String(ann.id) } } });
  t.same(numeric.data?.map((u) => u.id), [ann.id], 'a number finds exactly that user');
  const byUsername = await ann.api.GET('/users', { params: { query: { s: 'SEARCHUSER' } } });
  t.same(byUsername.data?.map((u) => u.username).sort(), ['searchuser1', 'searchuser2']);
  const byName = await ann.api.GET('/users', { params: { query: { search: 'mo tw' } } });
  t.same(byName.data?.map((u) => u.username), ['searchuser2'], 'substring of the name, via the search alias');
  t.equal((await ann.api.GET('/users', { params: { query: { s: 'x' } } })).response.status, 404, 'one character is too short');
  t.equal((await ann.api.GET('/users')).response.status, 400, 'missing query');
  const wildcard = await ann.api.GET('/users', { params: { query: { s: '%%' } } });
  t.same(wildcard.data, [], 'LIKE wildcards are literal');
  // The seed writes the search as GET /users/?s=: the spec documents that spelling too
  // (the client's contract check fails on a path or an answer the spec does not have).
  const seedForm = await anonymous.GET('/users/', { params: { query: { s: 'searchuser1' } } });
  t.equal(seedForm.response.status, 200, 'the seed writes /users/?s=');
  t.same(seedForm.data?.map((u) => u.username), ['searchuser1']);
  t.equal((await anonymous.GET('/users/', { params: { query: { s: 'x' } } })).response.status, 404, 'the same rules as /users');
  const badToken = messengerClient(baseUrl, { authorization: 'Bearer not-a-token' });
  t.equal((await badToken.GET('/users', { params: { query: { s: 'searchuser1' } } })).response.status, 200, 'the search does not look at a token');
});

t.test('paginated users list', async (t) => {
  const user = await registerUser(baseUrl);
  for (let i = 0; i < 3; i++) await registerUser(baseUrl);
  const page = await user.api.GET('/users/all', { params: { query: { count: 3 } } });
  t.equal(page.data?.length, 3);
  const ids = page.data!.map((u) => u.id);
  t.same(ids, [...ids].sort((a, b) => b - a), 'newest first');
  const next = await user.api.GET('/users/all', { params: { query: { count: 3, id: ids[2] } } });
  t.ok(next.data!.every((u) => u.id < ids[2]), 'the next page is below the cursor');
});

t.test('deleting the account (Basic, as the seed says)', async (t) => {
  const user = await registerUser(baseUrl, { password: 'password1' });
  const wrong = await messengerClient(baseUrl, { authorization: basicAuth(user.username, 'password2') }).DELETE('/users/me');
  t.equal(wrong.response.status, 401);
  const deleted = await messengerClient(baseUrl, { authorization: basicAuth(user.username, 'password1') }).DELETE('/users/me');
  t.equal(deleted.response.status, 200);
  t.equal((await user.api.GET('/users/me')).response.status, 401, 'the token of a deleted user is refused');
  t.equal((await anonymous.GET('/users/{id}', { params: { path: { id: user.id } } })).response.status, 404);

  const bearerUser = await registerUser(baseUrl);
  const tokenOnly = await bearerUser.api.DELETE('/users/me');
  t.equal(tokenOnly.response.status, 401, 'a Bearer token alone is not enough');
  t.same(tokenOnly.error, { error: true, reason: 'This needs a fresh proof: send the current password' });
  const deletedByBearer = await bearerUser.api.DELETE('/users/me', { body: { password: bearerUser.password } });
  t.equal(deletedByBearer.response.status, 200, 'a Bearer token with the password works for newer clients');
});

t.test('unknown routes answer in the messenger envelope', async (t) => {
  const response = await fetch(`${baseUrl}/api/no/such/thing`);
  t.equal(response.status, 404);
  t.equal(((await response.json()) as { error: boolean }).error, true);
});
