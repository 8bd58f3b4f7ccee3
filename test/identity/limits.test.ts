// Per-address limits of the identity service (IDENTITY_RATE_LIMIT_PER_IP a minute, 3 in this
// file): bind, unbind, account/register, store-invite and the lookups each answer
// M_LIMIT_EXCEEDED (429) past the limit, counted in memory (no database write); bulk_lookup
// takes at most 1,000 pairs.
import { like } from 'drizzle-orm';
import t from 'tap';
import { loadConfig } from '../../src/config.ts';
import { rateLimits } from '../../src/db/schema/index.ts';
import { startApp } from '../helpers/app.ts';
import { identityClient, startMailCatcher } from '../helpers/identity.ts';

const LIMIT = 3;
const mail = await startMailCatcher(t);
const defaults = loadConfig({});
const { baseUrl, database } = await startApp(t, {
  mail: { ...defaults.mail, smtpUrl: mail.url },
  identity: {
    ...defaults.identity,
    serverName: 'id.test',
    ratePerIp: LIMIT,
    emailRateLimit: { perAddress: 50, perClient: 500, windowMs: 60_000 },
    // No homeserver is contacted here: account/register is refused before any request.
    federationAllowedServers: ['homeserver.invalid'],
  },
});
const api = identityClient(baseUrl);

/** The statuses of `count` requests in a row. */
async function statuses(count: number, send: (i: number) => Promise<{ response: Response }>): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < count; i += 1) result.push((await send(i)).response.status);
  return result;
}

t.test('the lookups share one budget per address; past it, M_LIMIT_EXCEEDED without a database write', async (t) => {
  const seen = await statuses(LIMIT, (i) =>
    i === 1
      ? api.POST('/api/v1/bulk_lookup', { body: { threepids: [['email', 'a@example.test']] } })
      : api.GET('/api/v1/lookup', { params: { query: { medium: 'email', address: `a${i}@example.test` } } }),
  );
  t.same(seen, [200, 200, 200]);
  const limited = await api.GET('/api/v1/lookup', { params: { query: { medium: 'email', address: 'a@example.test' } } });
  t.equal(limited.response.status, 429);
  t.equal(limited.error?.errcode, 'M_LIMIT_EXCEEDED');
  t.ok(limited.error!.retry_after_ms! > 0 && limited.error!.retry_after_ms! <= 60_000, 'says when to retry');
  t.ok(Number(limited.response.headers.get('retry-after')) > 0, 'Retry-After header');
  const bulk = await api.POST('/api/v1/bulk_lookup', { body: { threepids: [['email', 'a@example.test']] } });
  t.equal(bulk.error?.errcode, 'M_LIMIT_EXCEEDED', 'bulk_lookup draws from the same budget');
  const v2 = await api.POST('/v2/lookup', { body: { algorithm: 'sha256', pepper: 'x', addresses: [] } });
  t.equal(v2.error?.errcode, 'M_LIMIT_EXCEEDED', 'so does the v2 lookup');
  const rows = await database.db.select().from(rateLimits).where(like(rateLimits.key, '%identity-address%'));
  t.equal(rows.length, 0, 'counted in memory, not in the database');

  const other = await api.POST('/api/v1/bind', { body: { sid: 'nosuchsid', client_secret: 'secret', mxid: '@a:example.test' } });
  t.equal(other.response.status, 404, 'other actions keep their own budget');
});

t.test('bind, unbind and account/register are limited per address', async (t) => {
  const bind = await statuses(LIMIT - 1, () => api.POST('/api/v1/3pid/bind', { body: { sid: 'nosuchsid', client_secret: 'secret', mxid: '@a:example.test' } }));
  t.same(bind, [404, 404], 'one bind was counted by the previous test');
  const bindV2 = await api.POST('/v2/3pid/bind', { body: { sid: 'nosuchsid', client_secret: 'secret', mxid: '@a:example.test' } });
  t.equal(bindV2.response.status, 429, 'v1 and v2 binds share the budget');
  t.equal(bindV2.error?.errcode, 'M_LIMIT_EXCEEDED');

  const unbind = await statuses(LIMIT + 1, () =>
    api.POST('/api/v1/3pid/unbind', { body: { mxid: '@a:example.test', threepid: { medium: 'email', address: 'a@example.test' }, sid: 'nosuchsid', client_secret: 'secret' } }),
  );
  t.same(unbind, [401, 401, 401, 429]);

  const register = await statuses(LIMIT + 1, () => api.POST('/v2/account/register', { body: { access_token: 'openid', matrix_server_name: 'elsewhere.example.test' } }));
  t.same(register, [403, 403, 403, 429], 'even a refused homeserver counts');
});

t.test('store-invite is limited per address as well as per sender', async (t) => {
  const invites = await statuses(LIMIT + 1, (i) =>
    api.POST('/api/v1/store-invite', { body: { medium: 'email', address: `guest${i}@example.test`, room_id: '!r:example.test', sender: `@sender${i}:example.test` } }),
  );
  t.same(invites, [200, 200, 200, 429], 'a new sender each time: the address limit');
  t.equal(mail.received.length, LIMIT, 'no mail past the limit');
});

t.test('bulk_lookup takes at most 1,000 pairs', async (t) => {
  // A fresh app: the budgets above are spent.
  const fresh = await startApp(t, { identity: { ...defaults.identity, ratePerIp: LIMIT } });
  const client = identityClient(fresh.baseUrl);
  const pairs = (n: number) => Array.from({ length: n }, (_, i) => ['email', `p${i}@example.test`]);
  const full = await client.POST('/api/v1/bulk_lookup', { body: { threepids: pairs(1000) } });
  t.equal(full.response.status, 200, '1,000 pairs are answered');
  const over = await client.POST('/api/v1/bulk_lookup', { body: { threepids: pairs(1001) } });
  t.equal(over.response.status, 400);
  t.equal(over.error?.errcode, 'M_INVALID_PARAM', 'in the Matrix envelope');
  const huge = await fetch(`${fresh.baseUrl}/_matrix/identity/api/v1/bulk_lookup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ threepids: pairs(5000) }),
  });
  t.equal(huge.status, 400);
  t.match(await huge.json(), { errcode: 'M_INVALID_PARAM' });
});
