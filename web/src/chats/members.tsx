// The members of a group: who is in it (and online), adding people (any member), removing them (the
// owner only: others are not shown a button that can only fail), leaving.
import { useRef, useState } from 'preact/hooks';
import { Avatar } from '../ui/avatar.tsx';
import { UserSearch } from '../people/people.tsx';
import { api, call, displayName, type ChatInfo } from '../ui/api.ts';
import { presenceText, type Presence } from './presence.ts';

export function Members({ chat, me, presence, onChat, onLeft, onError }: { chat: ChatInfo; me: number; presence: Map<number, Presence>; onChat: (chat: ChatInfo) => void; onLeft: () => void; onError: (error: unknown) => void }) {
  const [done, setDone] = useState('');
  const heading = useRef<HTMLHeadingElement>(null);
  const members = chat.allUsers ?? [];
  const isOwner = chat.owner?.id === me;
  const refresh = async () => onChat(await call(api.GET('/chats/{chatId}', { params: { path: { chatId: chat.id } } })));
  const change = async (action: 'add' | 'remove', userId: number, name: string) => {
    setDone('');
    try {
      const request = { params: { path: { chatId: chat.id } }, body: { users: [userId] } };
      await call(action === 'add' ? api.POST('/chats/{chatId}/users', request) : api.DELETE('/chats/{chatId}/users', request));
      await refresh();
      setDone(action === 'add' ? `${name} was added.` : `${name} was removed.`);
      // The button pressed may be gone: keep keyboard focus in the panel.
      heading.current?.focus();
    } catch (failure) {
      onError(failure);
    }
  };
  const leave = async () => {
    try {
      await call(api.DELETE('/chats/{chatId}/me', { params: { path: { chatId: chat.id } } }));
      onLeft();
    } catch (failure) {
      onError(failure);
    }
  };
  return (
    <section id="members" class="members card" aria-label="Members">
      <h3 ref={heading} tabIndex={-1}>
        Members
      </h3>
      {done && (
        <p class="notice" role="status">
          {done}
        </p>
      )}
      <ul>
        {members.map((user) => (
          <li key={user.id}>
            <span class="member-name">
              <Avatar user={user} name={displayName(user)} /> {displayName(user)} <small>@{user.username}</small>
              {chat.owner?.id === user.id && <small> · owner</small>}
              {user.id !== me && presenceText(presence.get(user.id)) && <small class="presence"> · {presenceText(presence.get(user.id))}</small>}
            </span>
            {isOwner && user.id !== me && (
              <button type="button" class="link danger" onClick={() => change('remove', user.id, displayName(user))}>
                Remove {displayName(user)}
              </button>
            )}
          </li>
        ))}
      </ul>
      <UserSearch
        me={me}
        label="Add a member"
        exclude={members.map((user) => user.id)}
        actions={(user) => (
          <button type="button" onClick={() => change('add', user.id, displayName(user))}>
            Add {displayName(user)}
          </button>
        )}
      />
      <button type="button" class="danger" onClick={leave}>
        Leave this group
      </button>
    </section>
  );
}
