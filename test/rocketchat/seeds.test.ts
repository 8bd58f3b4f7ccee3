// Seeds 000 (e2e.setRoomKeyID) and 001 (users.resetE2EKey), byte for byte: every status
// and body the documentation pages show. Plus the surface's routing and envelopes.
import t from 'tap';
import { chatMembers, chats } from '../../src/db/schema/index.ts';
import { startApp } from '../helpers/app.ts';
import { registerUser } from '../helpers/messenger.ts';
import { authHeaders, login, rawCall, rocketchatClient, totpCode } from '../helpers/rocketchat.ts';

const { baseUrl, database } = await startApp(t, { initialAdmin: { username: 'seedadmin', password: 'password1' } });
const bytes = (value: unknown) => JSON.stringify(value);

async function newChat(memberIds: number[]): Promise<string> {
  const [chat] = await database.db.insert(chats).values({ isPersonal: false, participantsKey: memberIds.join(',') }).returning();
  await database.db.insert(chatMembers).values(memberIds.map((userId) => ({ chatId: chat.id, userId })));
  return chat.id;
}

t.test('seed 000: e2e.setRoomKeyID', async (t) => {
  const owner = await registerUser(baseUrl);
  const outsider = await registerUser(baseUrl);
  const rid = await newChat([owner.id]);
  const headers = authHeaders({ userId: String(owner.id), authToken: owner.token });
  const body = { rid, keyID: 'my-UniQu3_ke4_Id' };

  const unauthorized = await rawCall(baseUrl, 'POST', '/e2e.setRoomKeyID', { body });
  t.equal(unauthorized.status, 401, 'Authorization');
  t.equal(unauthorized.text, bytes({ success: false, error: 'unauthorized' }));
  const wrongUser = await rawCall(baseUrl, 'POST', '/e2e.setRoomKeyID', { body, headers: { ...headers, 'x-user-id': String(outsider.id) } });
  t.equal(wrongUser.status, 401, 'a token only works with its own user id');
  t.equal(wrongUser.text, bytes({ success: false, error: 'unauthorized' }));

  const noRid = await rawCall(baseUrl, 'POST', '/e2e.setRoomKeyID', { headers, body: { keyID: 'my-UniQu3_ke4_Id' } });
  t.equal(noRid.status, 400, 'No Room Id');
  t.equal(noRid.text, bytes({ success: false, error: 'Match error: Expected string, got undefined' }));

  const invalidRoom = bytes({
    success: false,
    error: 'Invalid room [error-invalid-room]',
    errorType: 'error-invalid-room',
    details: { method: 'canAccessRoom' },
  });
  const foreign = await rawCall(baseUrl, 'POST', '/e2e.setRoomKeyID', { headers, body: { rid: 'Qe3Wa3outaDMKzAZC', keyID: 'my-UniQu3_ke4_Id' } });
  t.equal(foreign.status, 400, 'Invalid Room ID (not a Parley chat id)');
  t.equal(foreign.text, invalidRoom);
  const notMember = await rawCall(baseUrl, 'POST', '/e2e.setRoomKeyID', {
    headers: authHeaders({ userId: String(outsider.id), authToken: outsider.token }),
    body,
  });
  t.equal(notMember.status, 400, 'a room the caller is not in is invalid too');
  t.equal(notMember.text, invalidRoom);

  const ok = await rawCall(baseUrl, 'POST', '/e2e.setRoomKeyID', { headers, body });
  t.equal(ok.status, 200);
  t.equal(ok.text, bytes({ success: true }));
  const [stored] = await database.db.select({ e2eKeyId: chats.e2eKeyId }).from(chats);
  t.equal(stored.e2eKeyId, 'my-UniQu3_ke4_Id', 'the key id is stored on the chat');

  const again = await rawCall(baseUrl, 'POST', '/e2e.setRoomKeyID', { headers, body: { rid, keyID: 'another' } });
  t.equal(again.status, 400, 'Key Already Exists');
  t.equal(
    again.text,
    bytes({
      success: false,
      error: 'E2E Key ID already exists [error-room-e2e-key-already-exists]',
      errorType: 'error-room-e2e-key-already-exists',
      details: { method: 'e2e.setRoomKeyID' },
    }),
  );
});

t.test('seed 001: users.resetE2EKey', async (t) => {
  const admin = await login(baseUrl, 'seedadmin', 'password1');
  const api = rocketchatClient(baseUrl, admin);
  const enabled = await api.POST('/users.2fa.totp.enable', { params: { header: { 'x-2fa-code': 'password1', 'x-2fa-method': 'password' } } });
  const secret = enabled.data!.secret;
  const confirmed = await api.POST('/users.2fa.totp.validate', { body: { code: await totpCode(secret) } });
  t.equal(confirmed.response.status, 200, 'the admin turned TOTP on');
  const backup = confirmed.data!.codes;

  const target = await registerUser(baseUrl);
  const targetRc = { userId: String(target.id), authToken: target.token };
  await rocketchatClient(baseUrl, targetRc, { 'x-2fa-code': target.password }).POST('/e2e.setUserPublicAndPrivateKeys', { body: { public_key: 'pub', private_key: 'priv' } });
  const headers = { ...authHeaders(admin), 'x-2fa-code': backup[0] };

  const anonymous = await rawCall(baseUrl, 'POST', '/users.resetE2EKey', { body: { userId: String(target.id) } });
  t.equal(anonymous.status, 401, 'Authorization');
  t.equal(anonymous.text, bytes({ status: 'error', message: 'You must be logged in to do this.' }));

  const totpRequired = await rawCall(baseUrl, 'POST', '/users.resetE2EKey', { headers: authHeaders(admin), body: { userId: String(target.id) } });
  t.equal(totpRequired.status, 400, 'TOTP Required');
  t.equal(
    totpRequired.text,
    bytes({
      success: false,
      error: 'TOTP Required [totp-required]',
      errorType: 'totp-required',
      details: { method: 'totp', codeGenerated: false, availableMethods: ['totp'] },
    }),
  );

  const totpInvalid = await rawCall(baseUrl, 'POST', '/users.resetE2EKey', {
    headers: { ...authHeaders(admin), 'x-2fa-code': '000000' === (await totpCode(secret)) ? '111111' : '000000' },
    body: { userId: String(target.id) },
  });
  t.equal(totpInvalid.status, 400, 'Invalid TOTP');
  t.equal(
    totpInvalid.text,
    bytes({ success: false, error: 'TOTP Invalid [totp-invalid]', errorType: 'totp-invalid', details: { method: 'totp', codeGenerated: false } }),
  );

  const invalidUser = await rawCall(baseUrl, 'POST', '/users.resetE2EKey', { headers, body: { userId: '999999' } });
  t.equal(invalidUser.status, 400, 'Invalid User');
  t.equal(
    invalidUser.text,
    bytes({
      success: false,
      error: 'The required "userId" or "username" param provided does not match any users [error-invalid-user]',
      errorType: 'error-invalid-user',
    }),
  );

  const plain = await registerUser(baseUrl, { password: 'password9' });
  const noPermission = await rawCall(baseUrl, 'POST', '/users.resetE2EKey', {
    headers: { ...authHeaders({ userId: String(plain.id), authToken: plain.token }), 'x-2fa-code': 'password9' },
    body: { userId: String(target.id) },
  });
  t.equal(noPermission.status, 400, 'No Permission (a user without TOTP passes 2FA with the password method)');
  t.equal(noPermission.text, bytes({ success: false, error: 'Not allowed [error-not-allowed]', errorType: 'error-not-allowed' }));

  const ok = await rawCall(baseUrl, 'POST', '/users.resetE2EKey', { headers: { ...authHeaders(admin), 'x-2fa-code': backup[1] }, body: { userId: String(target.id) } });
  t.equal(ok.status, 200);
  t.equal(ok.text, bytes({ success: true }));

  const after = await rawCall(baseUrl, 'GET', '/e2e.fetchMyKeys', { headers: authHeaders(targetRc) });
  t.equal(after.status, 401, "the target's sessions ended");
  const relogged = await login(baseUrl, target.username, target.password);
  const keys = await rocketchatClient(baseUrl, relogged).GET('/e2e.fetchMyKeys');
  t.same(keys.data, { success: true }, 'their keys are gone');

  const replay = await rawCall(baseUrl, 'POST', '/users.resetE2EKey', { headers: { ...authHeaders(admin), 'x-2fa-code': backup[1] }, body: { username: target.username } });
  t.equal(replay.status, 400, 'a used backup code is refused');
  t.equal((replay.json as { errorType: string }).errorType, 'totp-invalid');

  const curlStyle = await rawCall(baseUrl, 'POST', '/users.resetE2EKey', {
    headers: { ...authHeaders(admin), 'x-2fa-code': backup[2], 'content-type': 'application/x-www-form-urlencoded' },
    rawBody: `{\n"userId":"${target.id}"\n}`,
  });
  t.equal(curlStyle.status, 200, "the seed's curl (--data without a JSON content type) works");
  t.equal(curlStyle.text, bytes({ success: true }));
});

t.test('the surface owns /api/v1 and its envelopes', async (t) => {
  const unknown = await rawCall(baseUrl, 'GET', '/no.such.endpoint');
  t.equal(unknown.status, 404);
  t.same(unknown.json, { success: false, error: 'No route GET /api/v1/no.such.endpoint' }, "not the messenger's 404");

  const user = await registerUser(baseUrl);
  const headers = authHeaders({ userId: String(user.id), authToken: user.token });
  const notJson = await rawCall(baseUrl, 'POST', '/e2e.setRoomKeyID', { headers: { ...headers, 'content-type': 'text/plain' }, rawBody: 'hello' });
  t.equal(notJson.status, 415);
  t.equal((notJson.json as { success: boolean }).success, false);

  const wrongType = await rawCall(baseUrl, 'POST', '/e2e.setUserPublicAndPrivateKeys', { headers, body: { public_key: 'a', private_key: 'b', force: 'maybe' } });
  t.equal(wrongType.status, 400, 'ajv errors in the envelope');
  t.same(wrongType.json, { success: false, error: 'force must be boolean [invalid-params]', errorType: 'invalid-params' });

  const brokenJson = await rawCall(baseUrl, 'POST', '/e2e.setRoomKeyID', { headers: { ...headers, 'content-type': 'application/json' }, rawBody: '{"rid":' });
  t.equal(brokenJson.status, 400);
  t.equal((brokenJson.json as { success: boolean }).success, false);

  const messenger = await fetch(`${baseUrl}/api/nothing-here`);
  t.equal(messenger.status, 404);
  t.same(Object.keys((await messenger.json()) as object), ['error', 'reason'], 'the messenger keeps its own 404');

  const spec = await fetch(`${baseUrl}/openapi/rocketchat.json`);
  t.equal(spec.status, 200, 'the spec is published');
  t.ok(((await spec.json()) as { paths: object }).paths['/e2e.setRoomKeyID' as never]);
});
