// Finding people: the user search, starting personal chats and groups, and contacts.
import type { ComponentChildren, RefObject } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Feedback } from '../ui/feedback.tsx';
import { api, ApiFailure, call, displayName, errorText, type ContactInfo, type UserInfo } from '../ui/api.ts';

export function UserSearch({
  me,
  label,
  exclude = [],
  actions,
}: {
  me: number;
  label: string;
  exclude?: number[];
  actions: (user: UserInfo) => ComponentChildren;
}) {
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<UserInfo[]>();
  const [error, setError] = useState('');
  const id = `search-${label.replace(/\W+/g, '-').toLowerCase()}`;

  useEffect(() => {
    const text = query.trim();
    if (text.length < 2 && !/^\d+$/.test(text)) {
      setResults(undefined);
      setError('');
      return;
    }
    let cancelled = false;
    const timer = setTimeout(async () => {
      try {
        const found = await call(api.GET('/users', { params: { query: { s: text } } }));
        if (!cancelled) {
          setResults(found);
          setError('');
        }
      } catch (failure) {
        if (cancelled) return;
        if (failure instanceof ApiFailure && failure.status === 404) setResults([]);
        else setError(errorText(failure));
      }
    }, 250);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [query]);

  const shown = (results ?? []).filter((user) => user.id !== me && !exclude.includes(user.id));
  return (
    <div class="user-search">
      <label for={id}>{label}</label>
      <input
        id={id}
        type="search"
        placeholder="Name or username (2 letters or more)"
        value={query}
        onInput={(e) => setQuery(e.currentTarget.value)}
        aria-describedby={`${id}-status`}
      />
      <p id={`${id}-status`} class="hint" role="status">
        {error ? '' : results === undefined ? '' : shown.length === 0 ? 'No one found.' : `${shown.length} found.`}
      </p>
      <Feedback error={error} />
      {shown.length > 0 && (
        <ul class="people">
          {shown.map((user) => (
            <li key={user.id}>
              <span>
                {displayName(user)} <small>@{user.username}</small>
              </span>
              <span class="actions">{actions(user)}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

async function openPersonalChat(userId: number): Promise<string> {
  const chat = await call(api.POST('/chats', { body: { participants: [userId], isPersonal: true } }));
  return chat.id;
}

export function NewChatView({ me, headingRef, onOpen }: { me: number; headingRef: RefObject<HTMLElement | null>; onOpen: (chatId: string) => void }) {
  const [members, setMembers] = useState<UserInfo[]>([]);
  const [title, setTitle] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => headingRef.current?.focus(), []);

  const start = async (user: UserInfo) => {
    setError('');
    try {
      onOpen(await openPersonalChat(user.id));
    } catch (failure) {
      setError(errorText(failure));
    }
  };

  const createGroup = async (event: Event) => {
    event.preventDefault();
    setError('');
    if (members.length === 0) return setError('Add at least one person to the group.');
    setBusy(true);
    try {
      const chat = await call(
        api.POST('/chats', { body: { title: title.trim() || undefined, participants: members.map((user) => user.id), isPersonal: false } }),
      );
      onOpen(chat.id);
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="page" aria-labelledby="new-title">
      <h2 id="new-title" ref={headingRef as never} tabIndex={-1}>
        New chat
      </h2>
      <Feedback error={error} />
      <UserSearch
        me={me}
        label="Find people"
        actions={(user) => (
          <>
            <button type="button" class="primary" onClick={() => start(user)}>
              Chat with {displayName(user)}
            </button>
            {!members.some((member) => member.id === user.id) && (
              <button type="button" onClick={() => setMembers([...members, user])}>
                Add {displayName(user)} to group
              </button>
            )}
          </>
        )}
      />
      <form class="card" onSubmit={createGroup} aria-labelledby="group-title">
        <h3 id="group-title">New group</h3>
        <label>
          Group name
          <input name="title" maxLength={200} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
        </label>
        {members.length === 0 ? (
          <p class="hint">Use “Add … to group” above to choose members.</p>
        ) : (
          <ul class="people" aria-label="Group members">
            {members.map((user) => (
              <li key={user.id}>
                <span>{displayName(user)}</span>
                <button type="button" class="link" onClick={() => setMembers(members.filter((member) => member.id !== user.id))}>
                  Remove {displayName(user)}
                </button>
              </li>
            ))}
          </ul>
        )}
        <button type="submit" class="primary" disabled={busy}>
          Create group
        </button>
      </form>
    </section>
  );
}

export function ContactsView({ me, headingRef, onOpen }: { me: number; headingRef: RefObject<HTMLElement | null>; onOpen: (chatId: string) => void }) {
  const [contacts, setContacts] = useState<ContactInfo[]>();
  const [error, setError] = useState('');
  const [done, setDone] = useState('');

  const load = async () => {
    try {
      setContacts(await call(api.GET('/users/me/contacts')));
    } catch (failure) {
      setError(errorText(failure));
    }
  };
  useEffect(() => {
    headingRef.current?.focus();
    void load();
  }, []);

  const act = async (work: () => Promise<unknown>, message: string) => {
    setError('');
    setDone('');
    try {
      await work();
      setDone(message);
      await load();
      headingRef.current?.focus();
    } catch (failure) {
      setError(errorText(failure));
    }
  };

  return (
    <section class="page" aria-labelledby="contacts-title">
      <h2 id="contacts-title" ref={headingRef as never} tabIndex={-1}>
        Contacts
      </h2>
      <Feedback error={error} done={done} />
      {contacts && contacts.length === 0 && <p class="empty">No contacts yet.</p>}
      {contacts && contacts.length > 0 && (
        <ul class="people" aria-label="Your contacts">
          {contacts.map((contact) => {
            const name = contact.name || displayName(contact.user);
            return (
              <li key={contact.id}>
                <span>
                  {contact.isFavorite && <span aria-label="favourite">★ </span>}
                  {name} <small>@{contact.user.username}</small>
                </span>
                <span class="actions">
                  <button
                    type="button"
                    class="primary"
                    onClick={() =>
                      openPersonalChat(contact.user.id).then(onOpen, (failure) => setError(errorText(failure)))
                    }
                  >
                    Message {name}
                  </button>
                  <button
                    type="button"
                    class="link danger"
                    onClick={() =>
                      act(() => call(api.DELETE('/users/me/contacts/{contactId}', { params: { path: { contactId: contact.id } } })), `${name} was removed from your contacts.`)
                    }
                  >
                    Remove {name}
                  </button>
                </span>
              </li>
            );
          })}
        </ul>
      )}
      <UserSearch
        me={me}
        label="Add a contact"
        exclude={(contacts ?? []).map((contact) => contact.user.id)}
        actions={(user) => (
          <button
            type="button"
            onClick={() =>
              act(
                () => call(api.POST('/users/me/contacts', { body: { isFavorite: false, isBlocked: false, user: { id: user.id } } })),
                `${displayName(user)} was added to your contacts.`,
              )
            }
          >
            Add {displayName(user)} to contacts
          </button>
        )}
      />
    </section>
  );
}
