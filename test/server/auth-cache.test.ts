// The in-memory cache of resolved access tokens: what it keeps, what makes it forget,
// and that a lookup overlapping a change is not kept (it may have read the old rows).
import { eq } from 'drizzle-orm';
import t from 'tap';
import { AuthCache } from '../../src/auth/auth-cache.ts';
import { users } from '../../src/db/schema/index.ts';
import { startApp } from '../helpers/app.ts';
import { registerUser } from '../helpers/messenger.ts';

const { app, baseUrl } = await startApp(t);
const db = app.kernel.db;

t.test('a resolved token is kept; a user or session change makes it go', async (t) => {
  const user = await registerUser(baseUrl);
  const cache = new AuthCache(db);
  t.equal(await cache.resolve('not-a-token'), undefined, 'an unknown token resolves to nothing');
  t.equal(cache.size, 0, 'and is not kept');

  const first = await cache.resolve(user.token);
  t.equal(first?.user.id, user.id);
  t.equal(cache.size, 1, 'kept');
  await db.update(users).set({ name: 'Changed Behind Its Back' }).where(eq(users.id, user.id));
  t.equal((await cache.resolve(user.token))?.user.name, first?.user.name, 'served from memory until told');

  cache.forgetUser(user.id);
  t.equal(cache.size, 0, 'forgetUser drops every token of the user');
  t.equal((await cache.resolve(user.token))?.user.name, 'Changed Behind Its Back', 'reloaded');

  cache.forgetSession(first!.session.id);
  t.equal(cache.size, 0, 'forgetSession drops the token of that session');
});

t.test('a lookup that overlaps an invalidation is answered but not kept', async (t) => {
  const user = await registerUser(baseUrl);
  const cache = new AuthCache(db);
  const pending = cache.resolve(user.token);
  cache.forgetUser(user.id);
  t.equal((await pending)?.user.id, user.id, 'the request still gets its answer');
  t.equal(cache.size, 0, 'but the possibly stale rows are not kept');
  await cache.resolve(user.token);
  t.equal(cache.size, 1, 'the next lookup is kept');
});

t.test("the app's cache hears the change-notice triggers", async (t) => {
  const user = await registerUser(baseUrl);
  const cache = app.kernel.authCache;
  await cache.resolve(user.token);
  const before = cache.size;
  await db.update(users).set({ about: 'edited in SQL' }).where(eq(users.id, user.id));
  const deadline = Date.now() + 5_000;
  while (cache.size >= before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  t.equal(cache.size, before - 1, 'the NOTIFY from the users trigger dropped the entry');
});

t.test('a short TTL bounds how long an entry lives without any notice', async (t) => {
  const user = await registerUser(baseUrl);
  const cache = new AuthCache(db, { ttlMs: 50 });
  await cache.resolve(user.token);
  t.equal(cache.size, 1);
  await new Promise((resolve) => setTimeout(resolve, 120));
  await db.update(users).set({ about: 'after the TTL' }).where(eq(users.id, user.id));
  t.equal((await cache.resolve(user.token))?.user.about, 'after the TTL', 'expired, so read again');
});
