// What third-party Rocket.Chat clients send and read: body-less POSTs labelled as JSON
// (Rocket.Chat's RestClient), malformed JSON, and the published spec's schemas.
import t from 'tap';
import { startApp } from '../helpers/app.ts';
import { registerUser, type TestUser } from '../helpers/messenger.ts';
import { rawRequest } from '../helpers/raw-http.ts';

const { baseUrl } = await startApp(t);

const headersOf = (user: TestUser, extra: Record<string, string> = {}) => ({
  'content-type': 'application/json',
  'x-user-id': String(user.id),
  'x-auth-token': user.token,
  ...extra,
});
// The fresh proof of users without TOTP: the password (Rocket.Chat's password method).
const proof = (user: TestUser) => ({ 'x-2fa-code': user.password, 'x-2fa-method': 'password' });

// The four calls Rocket.Chat's RestClient makes without a body, each as it would be sent.
const BODYLESS: Array<{ path: string; extra?: (user: TestUser) => Record<string, string>; check: (json: Record<string, unknown>) => boolean }> = [
  { path: '/api/v1/logout', check: (json) => json.status === 'success' },
  { path: '/api/v1/e2e.requestSubscriptionKeys', check: (json) => json.success === true },
  { path: '/api/v1/users.2fa.totp.enable', extra: proof, check: (json) => json.success === true && typeof json.secret === 'string' },
  { path: '/api/v1/users.resetE2EKey', extra: proof, check: (json) => json.success === true },
];

t.test('an empty body labelled application/json reads as {} on every body-less call', async (t) => {
  for (const framing of ['content-length: 0', 'chunked, no bytes'] as const) {
    for (const call of BODYLESS) {
      const user = await registerUser(baseUrl);
      const length: Record<string, string> = framing === 'content-length: 0' ? { 'content-length': '0' } : { 'transfer-encoding': 'chunked' };
      const answer = await rawRequest(baseUrl, {
        method: 'POST',
        path: call.path,
        headers: { ...headersOf(user, call.extra?.(user)), ...length },
        body: '',
      });
      t.equal(answer.status, 200, `${call.path} (${framing}): ${answer.text}`);
      t.ok(call.check(answer.json as Record<string, unknown>), `${call.path} (${framing}) did its work`);
    }
  }
});

t.test('logout with an empty JSON body really ends the session', async (t) => {
  const user = await registerUser(baseUrl);
  const out = await rawRequest(baseUrl, { method: 'POST', path: '/api/v1/logout', headers: { ...headersOf(user), 'content-length': '0' }, body: '' });
  t.equal(out.status, 200);
  const me = await rawRequest(baseUrl, { method: 'GET', path: '/api/v1/me', headers: headersOf(user) });
  t.equal(me.status, 401, 'the token no longer works');
});

t.test('malformed JSON stays a 400 in the Rocket.Chat envelope, with an errorType', async (t) => {
  const user = await registerUser(baseUrl);
  for (const body of ['{', '{"rid": ', 'not json', '{"__proto__": {"x": 1}}']) {
    const answer = await rawRequest(baseUrl, { method: 'POST', path: '/api/v1/e2e.acceptSuggestedGroupKey', headers: headersOf(user), body });
    t.equal(answer.status, 400, body);
    t.same(answer.json, { success: false, error: 'Body is not valid JSON [error-invalid-json]', errorType: 'error-invalid-json' }, body);
  }
  const login = await rawRequest(baseUrl, { method: 'POST', path: '/api/v1/login', headers: { 'content-type': 'application/json' }, body: '{"user":' });
  t.equal(login.status, 400);
  t.match(login.json, { success: false, errorType: 'error-invalid-json' }, 'on public routes too');
  const empty = await rawRequest(baseUrl, { method: 'POST', path: '/api/v1/e2e.acceptSuggestedGroupKey', headers: headersOf(user), body: '' });
  t.equal(empty.status, 400, 'an empty body is {}: still missing the required rid');
  t.match(empty.json, { success: false }, 'in the envelope');
});

// JSON Schema 2020-12 keywords and OpenAPI 3.1's additions: anything else in a schema is a typo
// (Redocly's `struct` rule), e.g. a YAML flow mapping split at a comma inside a description.
const SCHEMA_KEYWORDS = new Set([
  ...['$ref', '$id', '$schema', '$anchor', '$defs', '$comment', '$dynamicRef', '$dynamicAnchor'],
  ...['type', 'const', 'enum', 'format', 'title', 'description', 'default', 'examples', 'example', 'deprecated', 'readOnly', 'writeOnly'],
  ...['properties', 'required', 'additionalProperties', 'patternProperties', 'propertyNames', 'minProperties', 'maxProperties', 'unevaluatedProperties', 'dependentRequired', 'dependentSchemas'],
  ...['items', 'prefixItems', 'contains', 'minItems', 'maxItems', 'uniqueItems', 'minContains', 'maxContains', 'unevaluatedItems'],
  ...['minLength', 'maxLength', 'pattern', 'contentEncoding', 'contentMediaType', 'contentSchema'],
  ...['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'],
  ...['allOf', 'anyOf', 'oneOf', 'not', 'if', 'then', 'else', 'discriminator', 'xml', 'externalDocs'],
]);

type Schema = Record<string, unknown>;
function strayKeys(schema: unknown, where: string, out: string[]): string[] {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return out;
  const s = schema as Schema;
  for (const key of Object.keys(s)) if (!SCHEMA_KEYWORDS.has(key) && !key.startsWith('x-')) out.push(`${where}: ${key}`);
  for (const [name, sub] of Object.entries((s.properties as Schema | undefined) ?? {})) strayKeys(sub, `${where}.${name}`, out);
  for (const key of ['items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains']) strayKeys(s[key], `${where}/${key}`, out);
  for (const key of ['allOf', 'anyOf', 'oneOf', 'prefixItems']) for (const [i, sub] of ((s[key] as unknown[]) ?? []).entries()) strayKeys(sub, `${where}/${key}/${i}`, out);
  return out;
}

/** Every schema of an OpenAPI document: components, parameters, bodies and responses. */
function allSchemas(spec: Schema): Array<[string, unknown]> {
  const found: Array<[string, unknown]> = [];
  const walk = (node: unknown, where: string) => {
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node as Schema)) {
      if (key === 'schema') found.push([where, value]);
      else if (key === 'schemas' && where === '#/components') for (const [name, s] of Object.entries(value as Schema)) found.push([`${where}/schemas/${name}`, s]);
      else walk(value, `${where}/${key}`);
    }
  };
  walk(spec, '#');
  return found;
}

t.test('the published spec: every schema key is a schema keyword (the /login body included)', async (t) => {
  const response = await fetch(`${baseUrl}/openapi/rocketchat.json`);
  t.equal(response.status, 200);
  const spec = (await response.json()) as Schema;
  const stray = allSchemas(spec).flatMap(([where, schema]) => strayKeys(schema, where, []));
  t.same(stray, [], 'no stray keys');
  const loginBody = (spec.paths as Schema)['/login'] as { post: { requestBody: { content: { 'application/json': { schema: { properties: Schema } } } } } };
  t.same(Object.keys(loginBody.post.requestBody.content['application/json'].schema.properties), ['user', 'username', 'email', 'password', 'code']);
  type Body = { $ref?: string; required?: boolean; content: Schema };
  const resolve = (body: Body | undefined): Body | undefined =>
    body?.$ref ? ((spec.components as { requestBodies: Record<string, Body> }).requestBodies[body.$ref.split('/').pop()!]) : body;
  for (const path of ['/logout', '/e2e.resetOwnE2EKey']) {
    const body = resolve(((spec.paths as Schema)[path] as { post: { requestBody?: Body } }).post.requestBody);
    t.ok(body && body.required !== true && body.content['application/json'], `${path} declares an optional JSON body`);
  }
});
