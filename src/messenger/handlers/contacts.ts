// Contact endpoints of openapi/messenger.yaml.
import type { operations } from '../../generated/messenger.ts';
import type { Handlers } from '../../http/openapi.ts';
import type { Kernel } from '../../kernel.ts';
import { requireAuth } from '../auth.ts';
import * as contacts from '../contacts.ts';

export function contactsHandlers(k: Kernel): Handlers<Pick<operations, 'listContacts' | 'addContact' | 'deleteContact'>> {
  return {
    listContacts: async (request) => contacts.listContacts(k, requireAuth(request)),
    addContact: async (request) => contacts.addContact(k, requireAuth(request), request.body),
    deleteContact: async (request) => contacts.deleteContact(k, requireAuth(request), request.params.contactId),
  };
}
