// Contacts: a user's address book of other users, with favourite and blocked flags.
import { and, asc, eq } from 'drizzle-orm';
import type { AuthContext } from '../auth/sessions.ts';
import type { Executor } from '../db/client.ts';
import { contacts, users } from '../db/schema/index.ts';
import { badRequest, notFound } from '../http/errors.ts';
import type { Kernel } from '../kernel.ts';
import { mediaFromJson, parseJson, photosJson, type ContactInfo } from './chat-views.ts';

async function loadContacts(db: Executor, ownerId: number, contactId?: string): Promise<ContactInfo[]> {
  const rows = await db
    .select({ contact: contacts, user: { id: users.id, name: users.name, username: users.username, createdAt: users.createdAt }, photos: photosJson(users.id) })
    .from(contacts)
    .innerJoin(users, eq(users.id, contacts.userId))
    .where(and(eq(contacts.ownerId, ownerId), contactId ? eq(contacts.id, contactId) : undefined))
    .orderBy(asc(contacts.createdAt), asc(contacts.id));
  return rows.map(({ contact, user, photos }) => {
    const info: ContactInfo = {
      id: contact.id,
      isFavorite: contact.isFavorite,
      isBlocked: contact.isBlocked,
      user: { id: user.id, name: user.name, username: user.username, createdAt: user.createdAt.toISOString() },
    };
    const list = parseJson<Parameters<typeof mediaFromJson>[0][]>(photos);
    if (list.length) info.user.photos = list.map(mediaFromJson);
    if (contact.name !== null) info.name = contact.name;
    return info;
  });
}

export function listContacts(k: Kernel, auth: AuthContext): Promise<ContactInfo[]> {
  return loadContacts(k.db, auth.user.id);
}

export interface NewContact {
  name?: string;
  isFavorite: boolean;
  isBlocked: boolean;
  user: { id: number };
}

/** Adds a contact; the same user twice answers the existing contact unchanged. */
export async function addContact(k: Kernel, auth: AuthContext, input: NewContact): Promise<ContactInfo> {
  if (input.user.id === auth.user.id) throw badRequest('You cannot add yourself as a contact');
  return k.db.transaction(async (tx) => {
    const [user] = await tx.select({ id: users.id }).from(users).where(eq(users.id, input.user.id)).limit(1);
    if (!user) throw badRequest('Unknown user');
    await tx
      .insert(contacts)
      .values({ ownerId: auth.user.id, userId: user.id, name: input.name, isFavorite: input.isFavorite, isBlocked: input.isBlocked })
      .onConflictDoNothing({ target: [contacts.ownerId, contacts.userId] });
    const [row] = await tx
      .select({ id: contacts.id })
      .from(contacts)
      .where(and(eq(contacts.ownerId, auth.user.id), eq(contacts.userId, user.id)))
      .limit(1);
    const [contact] = await loadContacts(tx, auth.user.id, row.id);
    return contact;
  });
}

export async function deleteContact(k: Kernel, auth: AuthContext, contactId: string): Promise<void> {
  const deleted = await k.db
    .delete(contacts)
    .where(and(eq(contacts.id, contactId), eq(contacts.ownerId, auth.user.id)))
    .returning({ id: contacts.id });
  if (deleted.length === 0) throw notFound('Contact not found');
}
