// The e2e.* family: each endpoint's success and errors, room access, key events to
// members, users.resetE2EKey's effect on keys and sessions, and e2e.resetRoomKey.
import t from 'tap';
import { and, eq } from 'drizzle-orm';
import { chatMembers, chats } from '../../src/db/schema/index.ts';
import type { Delivery } from '../../src/realtime/events.ts';
import { promoteToAdmin } from '../../src/rocketchat/admin.ts';
import { startApp } from '../helpers/app.ts';
import { registerUser, type TestUser } from '../helpers/messenger.ts';
import { SocketProbe } from '../helpers/realtime.ts';
import { authHeaders, login, rawCall, rocketchatClient, type RocketChatCredentials } from '../helpers/rocketchat.ts';

const { baseUrl, database, app } = await startApp(t);

// Records what reaches the realtime bus (and still delivers it).
const published: Delivery[] = [];
const realtime = app.kernel.realtime;
const deliver = realtime.publish.bind(realtime);
realtime.publish = async (delivery) => {
  published.push(delivery);
  return deliver(delivery);
};
const eventsFor = (userId: number, event: string) => published.filter((d) => d.userIds.includes(userId) && d.event.event === event);

async function newChat(members: TestUser[]): Promise<string> {
  const [chat] = await database.db.insert(chats).values({ isPersonal: false, participantsKey: members.map((m) => m.id).join(',') }).returning();
  await database.db.insert(chatMembers).values(members.map((m) => ({ chatId: chat.id, userId: m.id })));
  return chat.id;
}
const rcOf = (user: TestUser): RocketChatCredentials => ({ userId: String(user.id), authToken: user.token });
const apiOf = (user: TestUser) => rocketchatClient(baseUrl, rcOf(user));
// Setting the key pair needs a fresh proof: the password as Rocket.Chat's x-2fa-code.
const proofOf = (password: string) => ({ 'x-2fa-code': password, 'x-2fa-method': 'password' });
const keysApiOf = (user: TestUser) => rocketchatClient(baseUrl, rcOf(user), proofOf(user.password));
async function memberRow(rid: string, userId: number) {
  const [row] = await database.db.select().from(chatMembers).where(and(eq(chatMembers.chatId, rid), eq(chatMembers.userId, userId)));
  return row;
}

t.test('key pair: fetchMyKeys and setUserPublicAndPrivateKeys', async (t) => {
  const ann = await registerUser(baseUrl);
  const api = keysApiOf(ann);
  const none = await rawCall(baseUrl, 'GET', '/e2e.fetchMyKeys', { headers: authHeaders(rcOf(ann)) });
  t.equal(none.text, JSON.stringify({ success: true }), 'no keys yet: both fields absent');

  t.equal((await api.POST('/e2e.setUserPublicAndPrivateKeys', { body: { public_key: '{"kty":"RSA"}', private_key: 'blob1' } })).response.status, 200);
  const keys = await rawCall(baseUrl, 'GET', '/e2e.fetchMyKeys', { headers: authHeaders(rcOf(ann)) });
  t.equal(keys.text, JSON.stringify({ public_key: '{"kty":"RSA"}', private_key: 'blob1', success: true }));

  const again = await api.POST('/e2e.setUserPublicAndPrivateKeys', { body: { public_key: 'p2', private_key: 'blob2' } });
  t.equal(again.response.status, 400);
  t.same(again.error, {
    success: false,
    error: 'Keys already set [error-keys-already-set]',
    errorType: 'error-keys-already-set',
    details: { method: 'e2e.setUserPublicAndPrivateKeys' },
  });
  await api.POST('/e2e.setUserPublicAndPrivateKeys', { body: { public_key: 'p2', private_key: 'blob2', force: true } });
  t.same((await api.GET('/e2e.fetchMyKeys')).data, { public_key: 'p2', private_key: 'blob2', success: true }, 'force replaces them');

  const missing = await rawCall(baseUrl, 'POST', '/e2e.setUserPublicAndPrivateKeys', { headers: authHeaders(rcOf(ann)), body: { public_key: 'p' } });
  t.equal(missing.text, JSON.stringify({ success: false, error: 'Match error: Expected string, got undefined' }));
  const anonymous = await rawCall(baseUrl, 'GET', '/e2e.fetchMyKeys');
  t.equal(anonymous.status, 401);
  t.equal(anonymous.text, JSON.stringify({ success: false, error: 'unauthorized' }));
});

t.test('room keys: members, suggestions, waiting users; outsiders read nothing', async (t) => {
  const [ann, bob, cid, eve] = await Promise.all([registerUser(baseUrl), registerUser(baseUrl), registerUser(baseUrl), registerUser(baseUrl)]);
  for (const [user, key] of [[ann, 'pub-ann'], [bob, 'pub-bob'], [cid, 'pub-cid'], [eve, 'pub-eve']] as const) {
    await keysApiOf(user).POST('/e2e.setUserPublicAndPrivateKeys', { body: { public_key: key, private_key: `priv-${key}` } });
  }
  const rid = await newChat([ann, bob, cid]);
  const evesRoom = await newChat([eve]);

  await apiOf(ann).POST('/e2e.setRoomKeyID', { body: { rid, keyID: 'key-1' } });
  t.ok(eventsFor(bob.id, 'e2eKeyId').some((d) => (d.event.payload as { rid: string }).rid === rid), 'members hear of the new key id');
  t.equal(eventsFor(eve.id, 'e2eKeyId').length, 0, 'outsiders do not');

  const without = await apiOf(ann).GET('/e2e.getUsersOfRoomWithoutKey', { params: { query: { rid } } });
  t.same(without.data, {
    users: ([[ann, 'pub-ann'], [bob, 'pub-bob'], [cid, 'pub-cid']] as const)
      .toSorted(([a], [b]) => a.id - b.id)
      .map(([u, key]) => ({ _id: String(u.id), e2e: { public_key: key } })),
    success: true,
  });
  const outsider = await apiOf(eve).GET('/e2e.getUsersOfRoomWithoutKey', { params: { query: { rid } } });
  t.equal(outsider.response.status, 400, 'a non-member never reads the room');
  t.same(outsider.error, { success: false, error: 'Invalid room [error-invalid-room]', errorType: 'error-invalid-room', details: { method: 'e2e.getUsersOfRoomWithoutKey' } });
  const noRid = await rawCall(baseUrl, 'GET', '/e2e.getUsersOfRoomWithoutKey', { headers: authHeaders(rcOf(ann)) });
  t.equal(noRid.text, JSON.stringify({ success: false, error: 'Match error: Expected string, got undefined' }));

  await apiOf(ann).POST('/e2e.updateGroupKey', { body: { rid, uid: String(ann.id), key: 'ann-copy' } });
  t.equal((await memberRow(rid, ann.id)).e2eKey, 'ann-copy', 'own uid: the caller stores its copy');
  await apiOf(ann).POST('/e2e.updateGroupKey', { body: { rid, uid: String(bob.id), key: 'for-bob' } });
  t.equal((await memberRow(rid, bob.id)).e2eSuggestedKey, 'for-bob', 'another uid: a suggestion');
  t.equal((await memberRow(rid, bob.id)).e2eKey, null);
  t.ok(eventsFor(bob.id, 'e2eSuggestedKey').length > 0, 'bob hears of it');
  const intruder = await apiOf(eve).POST('/e2e.updateGroupKey', { body: { rid, uid: String(bob.id), key: 'evil' } });
  t.equal(intruder.response.status, 200, 'a non-member is silently ignored (as Rocket.Chat)');
  t.equal((await memberRow(rid, bob.id)).e2eSuggestedKey, 'for-bob', 'and changes nothing');

  const waiting = await apiOf(ann).GET('/e2e.fetchUsersWaitingForGroupKey', { params: { query: { roomIds: [rid, evesRoom, 'not-a-room'] } } });
  t.same(waiting.data, { usersWaitingForE2EKeys: { [rid]: [{ _id: String(cid.id), public_key: 'pub-cid' }] }, success: true }, 'bob has a suggestion, so only cid waits; eve\'s room is not readable');
  const bracketed = await rawCall(baseUrl, 'GET', `/e2e.fetchUsersWaitingForGroupKey?roomIds[]=${rid}`, { headers: authHeaders(rcOf(ann)) });
  t.same(bracketed.json, waiting.data, 'roomIds[]= works too');
  const eveWaiting = await apiOf(eve).GET('/e2e.fetchUsersWaitingForGroupKey', { params: { query: { roomIds: [rid] } } });
  t.same(eveWaiting.data, { usersWaitingForE2EKeys: {}, success: true }, 'a non-member sees nobody');

  const provided = await apiOf(ann).POST('/e2e.provideUsersSuggestedGroupKeys', {
    body: { usersSuggestedGroupKeys: { [rid]: [{ _id: String(cid.id), key: 'for-cid' }, { _id: String(eve.id), key: 'not-a-member' }], [evesRoom]: [{ _id: String(eve.id), key: 'x' }] } },
  });
  t.equal(provided.response.status, 200);
  t.equal((await memberRow(rid, cid.id)).e2eSuggestedKey, 'for-cid');
  t.equal((await memberRow(evesRoom, eve.id)).e2eSuggestedKey, null, 'rooms the caller cannot access are skipped');

  t.equal((await apiOf(bob).POST('/e2e.acceptSuggestedGroupKey', { body: { rid } })).response.status, 200);
  const bobRow = await memberRow(rid, bob.id);
  t.same([bobRow.e2eKey, bobRow.e2eSuggestedKey], ['for-bob', null], 'accepting makes the suggestion the copy');
  const none = await apiOf(bob).POST('/e2e.acceptSuggestedGroupKey', { body: { rid } });
  t.same(none.error, { success: false, error: 'No suggested key available [error-no-suggested-key-available]', errorType: 'error-no-suggested-key-available', details: { method: 'e2e.acceptSuggestedGroupKey' } });
  const notSubscribed = await apiOf(eve).POST('/e2e.rejectSuggestedGroupKey', { body: { rid } });
  t.same(notSubscribed.error, { success: false, error: 'Subscription not found [error-subscription-not-found]', errorType: 'error-subscription-not-found', details: { method: 'e2e.rejectSuggestedGroupKey' } });
  t.equal((await apiOf(cid).POST('/e2e.rejectSuggestedGroupKey', { body: { rid } })).response.status, 200);
  const cidRow = await memberRow(rid, cid.id);
  t.same([cidRow.e2eKey, cidRow.e2eSuggestedKey], [null, null], 'rejecting drops the suggestion');

  published.length = 0;
  t.equal((await apiOf(cid).POST('/e2e.requestSubscriptionKeys')).response.status, 200);
  const requests = eventsFor(ann.id, 'e2eKeyRequest');
  t.same(requests.map((d) => d.event.payload), [{ rid, e2eKeyId: 'key-1', userId: String(cid.id) }], 'members are asked for the key cid lacks');
  t.equal(eventsFor(cid.id, 'e2eKeyRequest').length, 0, 'not cid itself');
});

t.test('resetting keys: own with 2FA, another user by an admin', async (t) => {
  const [ann, bob] = await Promise.all([registerUser(baseUrl, { password: 'password1' }), registerUser(baseUrl, { password: 'password2' })]);
  const rid = await newChat([ann, bob]);
  await keysApiOf(ann).POST('/e2e.setUserPublicAndPrivateKeys', { body: { public_key: 'pa', private_key: 'sa' } });
  await apiOf(ann).POST('/e2e.setRoomKeyID', { body: { rid, keyID: 'k' } });
  await apiOf(ann).POST('/e2e.updateGroupKey', { body: { rid, uid: String(ann.id), key: 'ann-copy' } });

  const noCode = await apiOf(ann).POST('/e2e.resetOwnE2EKey');
  t.equal(noCode.response.status, 400, 'the own reset needs the second factor');
  t.equal((noCode.error as { errorType?: string })?.errorType, 'totp-required');
  published.length = 0;
  const own = await rawCall(baseUrl, 'POST', '/e2e.resetOwnE2EKey', { headers: { ...authHeaders(rcOf(ann)), 'x-2fa-code': 'password1' } });
  t.equal(own.text, JSON.stringify({ success: true }));
  const annRow = await memberRow(rid, ann.id);
  t.equal(annRow.e2eKey, null, 'room-key copies are cleared');
  t.equal((await rawCall(baseUrl, 'GET', '/e2e.fetchMyKeys', { headers: authHeaders(rcOf(ann)) })).status, 401, 'and every session ended');
  t.ok(eventsFor(bob.id, 'e2eKeyReset').length > 0, 'room members hear of it');

  const annAgain = await login(baseUrl, ann.username, 'password1');
  t.same((await rocketchatClient(baseUrl, annAgain).GET('/e2e.fetchMyKeys')).data, { success: true });
  const byBob = await rawCall(baseUrl, 'POST', '/users.resetE2EKey', { headers: { ...authHeaders(rcOf(bob)), 'x-2fa-code': 'password2' }, body: { userId: annAgain.userId } });
  t.equal(byBob.status, 400, 'bob is no admin');
  t.equal((byBob.json as { errorType: string }).errorType, 'error-not-allowed');
  const blank = await rawCall(baseUrl, 'POST', '/users.resetE2EKey', { headers: { ...authHeaders(rcOf(bob)), 'x-2fa-code': 'password2' }, body: { userId: '' } });
  t.same(blank.json, { success: false, error: 'The required "userId" or "username" param was not provided [error-user-param-not-provided]', errorType: 'error-user-param-not-provided' });
  t.equal((await rocketchatClient(baseUrl, annAgain).GET('/me')).response.status, 200, "ann's session survived bob's attempts");

  t.equal(await promoteToAdmin(database.db, bob.username.toUpperCase()), 'promoted', 'npm run admin -- promote');
  await rocketchatClient(baseUrl, annAgain, proofOf('password1')).POST('/e2e.setUserPublicAndPrivateKeys', { body: { public_key: 'pa2', private_key: 'sa2' } });
  const byAdmin = await rawCall(baseUrl, 'POST', '/users.resetE2EKey', { headers: { ...authHeaders(rcOf(bob)), 'x-2fa-code': 'password2' }, body: { username: ann.username } });
  t.equal(byAdmin.text, JSON.stringify({ success: true }), 'an administrator resets another user by username');
  t.equal((await rocketchatClient(baseUrl, annAgain).GET('/me')).response.status, 401, "ann's sessions ended");
  const annThird = await login(baseUrl, ann.username, 'password1');
  t.same((await rocketchatClient(baseUrl, annThird).GET('/e2e.fetchMyKeys')).data, { success: true }, 'her keys are gone');
  t.equal((await apiOf(bob).GET('/me')).response.status, 200, "the admin's own session stays");
});

t.test('e2e.resetRoomKey: an owner rotates the key; members lose their copies and hear of it', async (t) => {
  const [owner, bob, cid, eve] = await Promise.all([registerUser(baseUrl), registerUser(baseUrl), registerUser(baseUrl), registerUser(baseUrl)]);
  for (const user of [owner, bob, cid, eve]) {
    await keysApiOf(user).POST('/e2e.setUserPublicAndPrivateKeys', { body: { public_key: `pub-${user.id}`, private_key: `priv-${user.id}` } });
  }
  const rid = await newChat([owner, bob, cid]);
  await database.db.update(chatMembers).set({ role: 'owner' }).where(and(eq(chatMembers.chatId, rid), eq(chatMembers.userId, owner.id)));
  await apiOf(owner).POST('/e2e.setRoomKeyID', { body: { rid, keyID: 'old-key' } });
  await apiOf(owner).POST('/e2e.updateGroupKey', { body: { rid, uid: String(owner.id), key: 'owner-old' } });
  await apiOf(bob).POST('/e2e.updateGroupKey', { body: { rid, uid: String(bob.id), key: 'bob-old' } });
  await apiOf(owner).POST('/e2e.updateGroupKey', { body: { rid, uid: String(cid.id), key: 'cid-suggested' } });

  const bobSocket = await SocketProbe.open(baseUrl, bob.sessionId, bob.token);
  t.teardown(() => bobSocket.close());
  const reset = await rawCall(baseUrl, 'POST', '/e2e.resetRoomKey', { headers: authHeaders(rcOf(owner)), body: { rid, e2eKey: 'owner-new', e2eKeyId: 'new-key' } });
  t.equal(reset.text, JSON.stringify({ success: true }));
  const [room] = await database.db.select().from(chats).where(eq(chats.id, rid));
  t.equal(room.e2eKeyId, 'new-key', 'the room has the new key id');
  t.equal((await memberRow(rid, owner.id)).e2eKey, 'owner-new', 'the caller holds the new key');
  t.match(await memberRow(rid, bob.id), { e2eKey: null, e2eSuggestedKey: null }, "bob's copy of the old key is cleared");
  t.match(await memberRow(rid, cid.id), { e2eKey: null, e2eSuggestedKey: null }, "cid's suggested old key is cleared");
  const frame = await bobSocket.event('e2eRoomKeyReset');
  t.same(frame.payload, { rid, e2eKeyId: 'new-key' }, "bob's socket hears the new key id");
  t.equal(frame.source, String(owner.id));
  const waiting = await apiOf(owner).GET('/e2e.fetchUsersWaitingForGroupKey', { params: { query: { roomIds: [rid] } } });
  t.same(waiting.data?.usersWaitingForE2EKeys[rid]?.map((u) => u._id).sort(), [String(bob.id), String(cid.id)].sort(), 'the others now wait for the new key');

  const byMember = await rawCall(baseUrl, 'POST', '/e2e.resetRoomKey', { headers: authHeaders(rcOf(bob)), body: { rid, e2eKey: 'x', e2eKeyId: 'bob-key' } });
  t.equal(byMember.status, 403, 'a plain member lacks toggle-room-e2e-encryption');
  t.same(byMember.json, { success: false, error: 'unauthorized' });
  const byStranger = await rawCall(baseUrl, 'POST', '/e2e.resetRoomKey', { headers: authHeaders(rcOf(eve)), body: { rid, e2eKey: 'x', e2eKeyId: 'eve-key' } });
  t.equal(byStranger.status, 403, 'a non-member is refused');
  await promoteToAdmin(database.db, eve.username);
  const byAdminStranger = await rawCall(baseUrl, 'POST', '/e2e.resetRoomKey', { headers: authHeaders(rcOf(eve)), body: { rid, e2eKey: 'x', e2eKeyId: 'eve-key' } });
  t.same(byAdminStranger.json, { success: false, error: 'error-not-allowed', errorType: 'error-not-allowed' }, 'an admin outside the room cannot either');
  t.equal((await database.db.select().from(chats).where(eq(chats.id, rid)))[0].e2eKeyId, 'new-key', 'the refused calls changed nothing');

  const missing = await rawCall(baseUrl, 'POST', '/e2e.resetRoomKey', { headers: authHeaders(rcOf(owner)), body: { rid, e2eKey: 'k' } });
  t.equal(missing.status, 400);
  t.same(missing.json, { success: false, error: 'Match error: Expected string, got undefined' });
  const wrongType = await rawCall(baseUrl, 'POST', '/e2e.resetRoomKey', { headers: authHeaders(rcOf(owner)), body: { rid, e2eKey: { not: 'a string' }, e2eKeyId: 'x'.repeat(201) } });
  t.equal(wrongType.status, 400);
  t.match(wrongType.json, { success: false, errorType: 'invalid-params' });
  t.equal((await database.db.select().from(chats).where(eq(chats.id, rid)))[0].e2eKeyId, 'new-key', 'bad input changed nothing');
  const plainRoom = await newChat([owner]);
  await database.db.update(chatMembers).set({ role: 'owner' }).where(eq(chatMembers.chatId, plainRoom));
  const notEncrypted = await rawCall(baseUrl, 'POST', '/e2e.resetRoomKey', { headers: authHeaders(rcOf(owner)), body: { rid: plainRoom, e2eKey: 'k', e2eKeyId: 'i' } });
  t.same(notEncrypted.json, {
    success: false,
    error: 'error-e2e-key-reset-failed',
    errorType: 'error-e2e-key-reset-failed',
    details: { reason: 'error-room-not-encrypted' },
  });
  const anonymous = await rawCall(baseUrl, 'POST', '/e2e.resetRoomKey', { body: { rid, e2eKey: 'k', e2eKeyId: 'i' } });
  t.equal(anonymous.status, 401);
});
