// Strangers, generated from the published specs: every operation that needs credentials
// refuses none, garbage, revoked and deleted-user tokens with 401; every operation on a
// resource id refuses a user who neither owns nor belongs to it, without leaking its data.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { startApp } from '../helpers/app.ts';
import { tinyImage } from '../helpers/images.ts';
import { registerUser, type TestUser } from '../helpers/messenger.ts';
import { credentialsFor, headersForAlternative, rawRequest, type RawRequest, type SchemeHeaders } from '../helpers/raw-http.ts';
import { deref, fillPath, isErrorEnvelope, loadSurfaces, sampleValid, securityOf, type Operation, type Surface } from '../helpers/surfaces.ts';

const { baseUrl } = await startApp(t);
const surfaces = loadSurfaces();
const MARKER = `secret${randomUUID().slice(0, 8)}`;

/** A request that passes validation, so only the credentials decide. */
function validRequest(surface: Surface, op: Operation, pathValues: Record<string, unknown>, headers: Record<string, string>): RawRequest {
  const values: Record<string, unknown> = {};
  const query = new URLSearchParams();
  for (const p of op.parameters) {
    if (p.in === 'path') values[p.name] = pathValues[p.name] ?? sampleValid(surface.spec, p.schema, 'x');
    else if (p.in === 'query' && p.required) query.append(p.name, String(sampleValid(surface.spec, p.schema, 'x')));
    else if (p.in === 'header' && p.required) headers[p.name.toLowerCase()] = String(sampleValid(surface.spec, p.schema, 'x'));
  }
  const request: RawRequest = { method: op.method, path: `${surface.prefix}${fillPath(op.path, values)}${query.size ? `?${query}` : ''}`, headers };
  const types = Object.keys(op.body?.content ?? {});
  const json = types.find((c) => c.includes('json'));
  if (json) {
    request.body = JSON.stringify(sampleValid(surface.spec, op.body!.content[json], MARKER));
    headers['content-type'] = 'application/json';
  } else if (types.length) {
    request.body = tinyImage('png', 'hello');
    headers['content-type'] = 'image/png';
  }
  return request;
}

/** Garbage for every scheme the operation accepts. */
function garbageHeaders(surface: Surface, op: Operation): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of securityOf(op).schemes) {
    const scheme = deref(surface.spec, surface.spec.components?.securitySchemes?.[name]);
    if (scheme?.type === 'http') headers.authorization = `${scheme.scheme === 'basic' ? 'Basic' : 'Bearer'} ${scheme.scheme === 'basic' ? Buffer.from('nobody:nothing').toString('base64') : 'A'.repeat(43)}`;
    else if (scheme?.type === 'apiKey' && scheme.in === 'header') headers[String(scheme.name).toLowerCase()] = 'garbage-value';
  }
  return headers;
}

const bearerScheme = (surface: Surface) =>
  Object.entries<Record<string, string>>(surface.spec.components?.securitySchemes ?? {}).find(([, s]) => s.type === 'http' && s.scheme === 'bearer')?.[0];

t.test('no, garbage, revoked and deleted-user credentials: 401 in the envelope', async (t) => {
  const revoked = await registerUser(baseUrl);
  t.equal((await revoked.api.POST('/users/me/logout')).response.status, 200, 'logged out');
  const deleted = await registerUser(baseUrl);
  t.equal((await deleted.api.DELETE('/users/me', { body: { password: deleted.password } })).response.status, 200, 'account deleted');

  for (const surface of surfaces) {
    const bearer = bearerScheme(surface);
    for (const op of surface.operations) {
      const { schemes, anonymous } = securityOf(op);
      if (anonymous || schemes.length === 0) continue;
      const cases: Array<[string, Record<string, string>]> = [
        ['no credentials', {}],
        ['garbage credentials', garbageHeaders(surface, op)],
      ];
      // Revoked and deleted-user tokens exist where the token is a messenger device session.
      if (surface.name === 'messenger' && bearer && schemes.includes(bearer)) {
        cases.push(['a revoked token', { authorization: `Bearer ${revoked.token}` }], ["a deleted user's token", { authorization: `Bearer ${deleted.token}` }]);
      }
      for (const [what, headers] of cases) {
        const response = await rawRequest(baseUrl, validRequest(surface, op, {}, { ...headers }));
        t.ok(
          response.status === 401 && isErrorEnvelope(surface.name, response.json),
          `${surface.name} ${op.method} ${op.path} with ${what}: 401 (got ${response.status} ${response.text.slice(0, 120)})`,
        );
      }
    }
  }
});

/** Resources user A creates through the API, by the path parameter names that address them. */
async function resourcesOf(owner: TestUser, member: TestUser): Promise<Record<string, unknown>> {
  const ids: Record<string, unknown> = { userId: owner.id };
  // Photos are media: deleting one through /media/{mediaId} is the same resource.
  const auth = { authorization: `Bearer ${owner.token}` };
  const upload = async () => {
    const r = await rawRequest(baseUrl, { method: 'POST', path: '/api/uploads', headers: { ...auth, 'content-type': 'image/png' }, body: tinyImage('png', 'png bytes') });
    return r.status === 200 ? r.text.trim() : undefined;
  };
  ids.fileName = await upload();
  const photoFile = await upload();
  if (photoFile) {
    const photoId = photoFile.replace(/\.[^.]+$/, '');
    const r = await rawRequest(baseUrl, {
      method: 'POST',
      path: '/api/users/me/photos',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ photo: { id: photoId, fileType: 'png', fileSize: tinyImage('png', 'png bytes').length, previewWidth: 10, previewHeight: 10 } }),
    });
    if (r.status === 200) ids.photoId = ids.mediaId = photoId;
  }
  const chat = await rawRequest(baseUrl, {
    method: 'POST',
    path: '/api/chats',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ title: MARKER, participants: [member.id] }),
  });
  const chatId = (chat.json as { id?: string } | undefined)?.id;
  if (chat.status === 200 && chatId) {
    ids.chatId = chatId;
    const message = await rawRequest(baseUrl, {
      method: 'POST',
      path: `/api/chats/${chatId}/messages`,
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ localId: `${owner.id}+${randomUUID()}`, text: `${MARKER} hello` }),
    });
    const messageId = (message.json as { id?: number } | undefined)?.id;
    if (message.status === 200 && messageId) ids.messageId = messageId;
  }
  return ids;
}

t.test("a stranger cannot reach another user's resources", async (t) => {
  const owner = await registerUser(baseUrl);
  const member = await registerUser(baseUrl);
  const stranger = await registerUser(baseUrl);
  const ids = await resourcesOf(owner, member);
  t.ok(ids.fileName, 'the owner uploaded a file');

  for (const surface of surfaces) {
    const strangerCredentials: SchemeHeaders = await credentialsFor(baseUrl, surface, stranger);
    for (const op of surface.operations) {
      const { anonymous } = securityOf(op);
      const pathParams = op.parameters.filter((p) => p.in === 'path');
      if (anonymous || pathParams.length === 0) continue;
      const missing = pathParams.filter((p) => ids[p.name] === undefined).map((p) => p.name);
      if (missing.length) {
        t.pass(`${surface.name} ${op.method} ${op.path}: no resource factory for ${missing.join(', ')}`, { todo: true });
        continue;
      }
      const alternative = op.security.find((a) => headersForAlternative(a, strangerCredentials));
      const headers = alternative ? headersForAlternative(alternative, strangerCredentials)! : {};
      const response = await rawRequest(baseUrl, validRequest(surface, op, ids, { ...headers }));
      t.ok(response.status >= 400 && response.status < 500 && response.status !== 401, `${op.method} ${op.path} by a stranger: refused (got ${response.status} ${response.text.slice(0, 120)})`);
      t.notOk(response.text.includes(MARKER), `${op.method} ${op.path} by a stranger: none of the owner's data in the answer`);
    }
  }

  // Nothing the stranger tried changed the owner's things.
  const auth = { authorization: `Bearer ${owner.token}` };
  if (ids.chatId) {
    const chat = await rawRequest(baseUrl, { method: 'GET', path: `/api/chats/${ids.chatId}`, headers: auth });
    t.equal(chat.status, 200, 'the chat is still there');
    t.ok(chat.text.includes(MARKER), 'with its title');
    const history = await rawRequest(baseUrl, { method: 'GET', path: `/api/chats/${ids.chatId}/messages`, headers: auth });
    t.ok(history.text.includes(`${MARKER} hello`), 'and its message');
  }
  const file = await rawRequest(baseUrl, { method: 'GET', path: `/uploads/${ids.fileName}` });
  t.ok(file.text.endsWith('png bytes'), "the owner's file is untouched");
  if (ids.photoId) {
    const me = await rawRequest(baseUrl, { method: 'GET', path: '/api/users/me', headers: auth });
    t.ok(me.text.includes(String(ids.photoId)), "the owner's photo is still there");
  }
});
