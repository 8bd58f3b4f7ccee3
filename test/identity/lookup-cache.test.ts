// Identity lookups are answered from a per-process cache (bound and unbound answers alike):
// a bind or unbind through any instance shows in every instance's next lookup, at once after
// the bind's response. Two instances share one database (PostgreSQL under TEST_DATABASE_URL,
// else one PGlite), as two Parley processes do.
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { buildApp } from '../../src/app.ts';
import { openDatabase, type DatabaseHandle } from '../../src/db/client.ts';
import { hashToken, newSecretToken } from '../../src/auth/tokens.ts';
import { identityAccessTokens, identityAccounts, identityAssociations, identityValidationSessions } from '../../src/db/schema/index.ts';
import { lookupHash } from '../../src/identity/hashing.ts';
import { LookupCache } from '../../src/identity/lookup-cache.ts';
import { instanceStarter } from '../helpers/app.ts';
import { identityClient } from '../helpers/identity.ts';

const startInstance = await instanceStarter(t);
const one = await startInstance();
const two = await startInstance();
const onOne = identityClient(one.baseUrl);
const onTwo = identityClient(two.baseUrl);
// Not an allowed homeserver of the tests: the onbind call is refused at once, the bind stands.
const mxid = (name: string) => `@${name}:elsewhere.test`;

/** An email address with a validated session, as requestToken + submitToken would leave it. */
async function validated(): Promise<{ address: string; sid: string; clientSecret: string }> {
  const address = `cached.${randomUUID()}@example.test`;
  const sid = randomUUID();
  const clientSecret = `secret_${randomUUID()}`;
  await one.database.db.insert(identityValidationSessions).values({ sid, medium: 'email', address, clientSecret, tokenHash: 'unused', validatedAt: new Date() });
  return { address, sid, clientSecret };
}

const lookup = async (client: typeof onOne, address: string) =>
  ((await client.GET('/api/v1/lookup', { params: { query: { medium: 'email', address } } })).data as { mxid?: string } | undefined)?.mxid;

t.test('bind → lookup finds; unbind → lookup misses, on the same instance', async (t) => {
  const { address, sid, clientSecret } = await validated();
  t.equal(await lookup(onOne, address), undefined, 'unbound: no answer (and that answer is now cached)');
  t.equal((await onOne.POST('/api/v1/bind', { body: { sid, client_secret: clientSecret, mxid: mxid('alice') } })).response.status, 200);
  t.equal(await lookup(onOne, address), mxid('alice'), 'the cached miss did not hide the bind');
  t.equal(await lookup(onOne, address), mxid('alice'), 'and again (now from memory)');
  const unbound = await onOne.POST('/api/v1/3pid/unbind', { body: { sid, client_secret: clientSecret, mxid: mxid('alice'), threepid: { medium: 'email', address } } });
  t.equal(unbound.response.status, 200);
  t.equal(await lookup(onOne, address), undefined, 'the cached binding did not outlive the unbind');
});

t.test('bind on one instance, lookup on the other: found at once; unbind likewise', async (t) => {
  const { address, sid, clientSecret } = await validated();
  t.equal(await lookup(onTwo, address), undefined, 'the other instance caches the miss');
  t.equal((await onOne.POST('/api/v1/bind', { body: { sid, client_secret: clientSecret, mxid: mxid('bob') } })).response.status, 200);
  t.equal(await lookup(onTwo, address), mxid('bob'), 'found on the other instance right after the response');
  t.equal(await lookup(onTwo, address), mxid('bob'), 'now cached there');
  await onOne.POST('/api/v1/3pid/unbind', { body: { sid, client_secret: clientSecret, mxid: mxid('bob'), threepid: { medium: 'email', address } } });
  t.equal(await lookup(onTwo, address), undefined, 'unbound on the other instance too');
});

t.test('v2 hashed lookup: a cached miss and a cached hit both follow bind and unbind', async (t) => {
  const { address, sid, clientSecret } = await validated();
  const token = newSecretToken();
  const userId = `@v2-${randomUUID()}:elsewhere.test`;
  await one.database.db.insert(identityAccounts).values({ userId });
  await one.database.db.insert(identityAccessTokens).values({ tokenHash: hashToken(token), userId });
  const v2 = identityClient(two.baseUrl, { authorization: `Bearer ${token}` });
  const { data: details } = await v2.GET('/v2/hash_details', {});
  const hash = lookupHash('email', address, details!.lookup_pepper);
  const hashed = async () => (await v2.POST('/v2/lookup', { body: { algorithm: 'sha256', pepper: details!.lookup_pepper, addresses: [hash] } })).data?.mappings;
  t.same(await hashed(), {}, 'unbound: no mapping (cached)');
  await onOne.POST('/api/v1/bind', { body: { sid, client_secret: clientSecret, mxid: mxid('carol') } });
  t.same(await hashed(), { [hash]: mxid('carol') }, 'bound on the other instance: found at once');
  t.same(await hashed(), { [hash]: mxid('carol') }, 'again, from memory');
  await onOne.POST('/api/v1/3pid/unbind', { body: { sid, client_secret: clientSecret, mxid: mxid('carol'), threepid: { medium: 'email', address } } });
  t.same(await hashed(), {}, 'unbound: gone at once');
});

t.test('a binding changed behind the API (SQL) is dropped by the trigger notice', async (t) => {
  const { address, sid, clientSecret } = await validated();
  await onOne.POST('/api/v1/bind', { body: { sid, client_secret: clientSecret, mxid: mxid('dave') } });
  t.equal(await lookup(onTwo, address), mxid('dave'), 'cached on the other instance');
  await one.database.db.update(identityAssociations).set({ mxid: mxid('eve') }).where(eq(identityAssociations.address, address));
  let seen: string | undefined;
  for (let i = 0; i < 500 && seen !== mxid('eve'); i++) {
    seen = await lookup(onTwo, address);
    if (seen !== mxid('eve')) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  t.equal(seen, mxid('eve'), 'the change shows once the notice arrives');
});

t.test('the cache itself: a miss and a hit are kept, a notice drops them, an overlapping load is not kept', async (t) => {
  const cache = new LookupCache<{ mxid: string }>({ max: 10 });
  let loads = 0;
  const miss = async () => {
    loads += 1;
    return {};
  };
  t.same(await cache.one('h1', miss), {});
  t.same(await cache.one('h1', miss), {});
  t.equal(loads, 1, 'a miss costs one load, then comes from memory');
  cache.forget('h1');
  await cache.one('h1', miss);
  t.equal(loads, 2, 'forgotten (a notice for its hash), so loaded again');

  const rows = async (missing: string[]) => {
    loads += missing.length;
    return new Map(missing.filter((hash) => hash === 'bound').map((hash) => [hash, [{ mxid: '@x:y', notBefore: 0, notAfter: Date.now() + 60_000 }]]));
  };
  loads = 0;
  await cache.hashes(['bound', 'unbound'], rows);
  const again = await cache.hashes(['bound', 'unbound'], rows);
  t.equal(loads, 2, 'v2: each hash loaded once, bound or not');
  t.equal(again.get('bound')?.[0].mxid, '@x:y');
  t.same(again.get('unbound'), []);

  const pending = cache.one('h2', miss);
  cache.forget('h2');
  await pending;
  loads = 0;
  await cache.one('h2', miss);
  t.equal(loads, 1, 'a load that overlapped an invalidation was answered but not kept');

  const bounded = new LookupCache<{ mxid: string }>({ max: 2 });
  for (const hash of ['a', 'b', 'c']) await bounded.one(hash, miss);
  t.equal(bounded.size, 2, 'bounded: the least recently used entry went');
});
