// Contacts: add (the same user twice is one contact), list, remove — only one's own.
import t from 'tap';
import { startApp } from '../helpers/app.ts';
import { users } from './chat-fixtures.ts';

const { baseUrl } = await startApp(t);

t.test('add, list and delete contacts', async (t) => {
  const [ann, bob, cat] = await users(baseUrl, 3);
  const added = await ann.api.POST('/users/me/contacts', { body: { name: 'Bobby', isFavorite: true, isBlocked: false, user: { id: bob.id } } });
  t.equal(added.response.status, 200);
  t.equal(added.data?.name, 'Bobby');
  t.equal(added.data?.isFavorite, true);
  t.equal(added.data?.isBlocked, false);
  t.equal(added.data?.user.id, bob.id);
  t.equal(added.data?.user.username, bob.username, 'with the nested user');
  await ann.api.POST('/users/me/contacts', { body: { isFavorite: false, isBlocked: true, user: { id: cat.id } } });

  const again = await ann.api.POST('/users/me/contacts', { body: { name: 'Other name', isFavorite: false, isBlocked: false, user: { id: bob.id } } });
  t.equal(again.data?.id, added.data?.id, 'the same user again returns the existing contact');
  t.equal(again.data?.name, 'Bobby', 'unchanged');

  const list = await ann.api.GET('/users/me/contacts');
  t.same(
    list.data?.map((c) => [c.user.id, c.isFavorite, c.isBlocked]),
    [
      [bob.id, true, false],
      [cat.id, false, true],
    ],
    'the two contacts',
  );
  t.same((await bob.api.GET('/users/me/contacts')).data, [], "contacts are the owner's only");

  const contactPath = { params: { path: { contactId: added.data!.id! } } };
  t.equal((await bob.api.DELETE('/users/me/contacts/{contactId}', contactPath)).response.status, 404, "someone else's contact");
  t.equal((await ann.api.DELETE('/users/me/contacts/{contactId}', contactPath)).response.status, 200);
  t.equal((await ann.api.DELETE('/users/me/contacts/{contactId}', contactPath)).response.status, 404, 'already gone');
  const remaining = list.data!.find((c) => c.user.id === cat.id)!;
  await ann.api.DELETE('/users/me/contacts/{contactId}', { params: { path: { contactId: remaining.id! } } });
  t.same((await ann.api.GET('/users/me/contacts')).data, [], 'then the list is empty');
});

t.test('contact errors', async (t) => {
  const [ann] = await users(baseUrl, 1);
  const cases: [string, unknown, number][] = [
    ['missing user id', { isFavorite: false, isBlocked: false, user: {} }, 400],
    ['missing user', { isFavorite: false, isBlocked: false }, 400],
    ['missing isFavorite', { isBlocked: false, user: { id: ann.id } }, 400],
    ['unknown user', { isFavorite: false, isBlocked: false, user: { id: 2_000_000_000 } }, 400],
    ['yourself', { isFavorite: false, isBlocked: false, user: { id: ann.id } }, 400],
  ];
  for (const [what, body, status] of cases) {
    const { response, error } = await ann.api.POST('/users/me/contacts', { body: body as never });
    t.equal(response.status, status, what);
    t.equal(error?.error, true);
  }
  t.equal((await ann.api.DELETE('/users/me/contacts/{contactId}', { params: { path: { contactId: 'nope' } } })).response.status, 400, 'malformed id');
  t.equal((await fetch(`${baseUrl}/api/users/me/contacts`)).status, 401, 'no token');
});
