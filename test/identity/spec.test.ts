// What the published identity spec promises clients and contract tools (Prism, generated
// clients): explicit security on every operation, the bodies clients really send, and
// store-invite's key objects on v1 as on v2.
import t from 'tap';
import specification from '../../src/generated/identity.spec.json' with { type: 'json' };

type StoredInviteSchema = { properties: { public_key: { type: string }; public_keys: { items: { required: string[] } } } };
type Operation = { operationId: string; security?: unknown[]; requestBody?: { required?: boolean; content: Record<string, { schema: unknown }> }; responses: Record<string, unknown> };
const spec = specification as unknown as { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Record<string, unknown>>; responses: Record<string, { content: Record<string, { schema: StoredInviteSchema }> }> } };
const operations = Object.values(spec.paths).flatMap((item) => Object.values(item));

t.test('every operation declares its security; the public ones say so with security: []', async (t) => {
  t.same(operations.filter((op) => !op.security).map((op) => op.operationId), [], 'none left to the (absent) default');
  const open = operations.filter((op) => op.security!.length === 0).map((op) => op.operationId);
  t.equal(open.length, 28, "24 public operations, and msisdn's v1 requestToken and submitToken and both links");
  for (const id of ['getVersions', 'registerAccount', 'getTerms', 'emailSubmitTokenGetV2', 'unbindV2', 'isEphemeralPubKeyValidV2', 'msisdnSubmitTokenGetV2']) t.ok(open.includes(id), `${id} is public`);
  for (const id of ['getAccount', 'lookupV2', 'bindV2', 'msisdnRequestTokenV2']) t.notOk(open.includes(id), `${id} needs the access token`);
});

t.test('logout declares the optional {} body clients send', async (t) => {
  const logout = operations.find((op) => op.operationId === 'logoutAccount')!;
  t.equal(logout.requestBody?.required, false);
  t.same(logout.requestBody?.content['application/json'].schema, { type: 'object' });
});

t.test('send_attempt: an integer or a string holding one', async (t) => {
  const sendAttempt = spec.components.schemas.SendAttempt;
  t.same(sendAttempt.type, ['integer', 'string']);
  t.ok(new RegExp(sendAttempt.pattern as string).test('1'));
  t.notOk(new RegExp(sendAttempt.pattern as string).test('one'));
});

t.test('store-invite answers key objects on v1 as on v2', async (t) => {
  const v1 = spec.paths['/api/v1/store-invite'].post.responses['200'];
  const v2 = spec.paths['/v2/store-invite'].post.responses['200'];
  t.same(v1, v2);
  const schema = spec.components.responses.StoredInvite.content['application/json'].schema;
  t.same(schema.properties.public_keys.items.required, ['public_key', 'key_validity_url']);
  t.equal(schema.properties.public_key.type, 'string', 'the legacy string stays');
});
