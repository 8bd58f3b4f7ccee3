// The chat's menu in its header: my own flags (mute, archive), block, clear, delete, and for a
// group's owner its title and photo. Each action goes through the existing API and reports back.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, call, uploadFile, type ChatInfo } from '../ui/api.ts';
import { MenuButton, type MenuItem } from '../ui/menu.tsx';

interface Props {
  chat: ChatInfo;
  me: number;
  /** The chat as it is now (header and list refresh from it). */
  onChat: (chat: ChatInfo) => void;
  /** The chat is gone from my list (deleted, blocked): close it. */
  onGone: () => void;
  onError: (error: unknown) => void;
}

type Panel = { kind: 'none' } | { kind: 'confirm'; action: 'clear' | 'delete' | 'block' } | { kind: 'rename' };

const CONFIRM_TEXT = {
  clear: { question: 'Delete every message of this chat for everyone?', button: 'Clear history' },
  delete: { question: 'Delete this chat and all its messages for everyone?', button: 'Delete chat' },
  block: { question: 'Block this chat? You will get no more messages from it, and the other person cannot write to you here.', button: 'Block' },
} as const;

export function ChatMenu({ chat, me, onChat, onGone, onError }: Props) {
  const [panel, setPanel] = useState<Panel>({ kind: 'none' });
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);
  const [title, setTitle] = useState(chat.title ?? '');
  const button = useRef<HTMLButtonElement>(null);
  const photo = useRef<HTMLInputElement>(null);
  const isOwner = chat.owner?.id === me;
  const group = !chat.isPersonal;
  // The server lets only a group's owner clear or delete it; either side of a personal chat may.
  const mayWipe = !group || isOwner;

  const panelRef = useRef<HTMLDivElement & HTMLFormElement>(null);
  // The result floats over the messages: it goes after a while (the header already shows the state).
  useEffect(() => {
    if (!done) return;
    const timer = setTimeout(() => setDone(''), 6000);
    return () => clearTimeout(timer);
  }, [done]);
  // A confirm step or the rename form takes the keyboard focus when it appears.
  useEffect(() => {
    panelRef.current?.querySelector<HTMLElement>('input, button')?.focus();
  }, [panel.kind]);

  const run = async (work: () => Promise<string>) => {
    setDone('');
    setBusy(true);
    try {
      setDone(await work());
    } catch (failure) {
      onError(failure);
    } finally {
      setBusy(false);
    }
  };

  const path = { params: { path: { chatId: chat.id } } };
  const settings = (body: { isMuted?: boolean; isArchived?: boolean }, said: string) => {
    void run(async () => {
      // Keep what the answer leaves out (members, images) from the chat already shown.
      onChat({ ...chat, ...(await call(api.PUT('/chats/{chatId}/settings', { ...path, body }))) });
      return said;
    });
  };
  const confirm = (action: 'clear' | 'delete' | 'block') => {
    setPanel({ kind: 'none' });
    void run(async () => {
      if (action === 'clear') {
        await call(api.DELETE('/chats/{chatId}/messages', path));
        return 'The chat history was cleared.';
      }
      if (action === 'delete') {
        await call(api.DELETE('/chats/{chatId}', path));
        onGone();
        return '';
      }
      await call(api.PUT('/chats/{chatId}/block', path));
      onChat(await call(api.GET('/chats/{chatId}', path)));
      return 'You blocked this chat.';
    });
  };
  const unblock = () => {
    void run(async () => {
      await call(api.PUT('/chats/{chatId}/unblock', path));
      onChat(await call(api.GET('/chats/{chatId}', path)));
      return 'You unblocked this chat.';
    });
  };
  const rename = (event: Event) => {
    event.preventDefault();
    const wanted = title.trim();
    if (!wanted) return onError(new Error('A group needs a name.'));
    setPanel({ kind: 'none' });
    void run(async () => {
      onChat({ ...chat, ...(await call(api.PUT('/chats/{chatId}', { ...path, body: { title: wanted } }))) });
      return `The group is now called “${wanted}”.`;
    });
  };
  const changePhoto = (file: File | undefined) => {
    if (!file) return;
    void run(async () => {
      const { media } = await uploadFile(file);
      const next = await call(api.POST('/chats/{chatId}/images', { ...path, body: { image: media } }));
      // The newest image is the group's photo; older ones are removed so there is one.
      const old = (next.images ?? []).flatMap((image) => (image.id && image.id !== media.id ? [image.id] : []));
      for (const imageId of old) await call(api.DELETE('/chats/{chatId}/images/{imageId}', { params: { path: { chatId: chat.id, imageId } } }));
      onChat({ ...chat, ...(old.length ? await call(api.GET('/chats/{chatId}', path)) : next) });
      return 'The group photo was changed.';
    });
    if (photo.current) photo.current.value = '';
  };

  const ask = (action: 'clear' | 'delete' | 'block') => () => setPanel({ kind: 'confirm', action });
  const items: MenuItem[] = [
    { label: chat.isMuted ? 'Unmute' : 'Mute', act: () => settings({ isMuted: !chat.isMuted }, chat.isMuted ? 'Notifications are on again.' : 'The chat is muted.') },
    {
      label: chat.isArchived ? 'Unarchive' : 'Archive',
      act: () => settings({ isArchived: !chat.isArchived }, chat.isArchived ? 'The chat is back in your list.' : 'The chat was archived: find it under “Archived”.'),
    },
  ];
  if (group && isOwner) {
    const startRename = () => {
      setTitle(chat.title ?? '');
      setPanel({ kind: 'rename' });
    };
    items.push({ label: 'Rename group', movesFocus: true, act: startRename });
    items.push({ label: 'Change group photo', movesFocus: true, act: () => photo.current?.click() });
  }
  if (!group) items.push(chat.isBlocked ? { label: 'Unblock', act: unblock } : { label: 'Block', act: ask('block'), danger: true, movesFocus: true });
  if (mayWipe) {
    items.push({ label: 'Clear history', act: ask('clear'), danger: true, movesFocus: true });
    items.push({ label: 'Delete chat', act: ask('delete'), danger: true, movesFocus: true });
  }

  return (
    <div class="chat-menu">
      <MenuButton id="chat-menu" menuLabel="Chat actions" items={items} disabled={busy} buttonRef={button}>
        Chat menu
      </MenuButton>
      <input ref={photo} type="file" accept="image/*" class="visually-hidden" tabIndex={-1} aria-label="Group photo" onChange={(e) => changePhoto(e.currentTarget.files?.[0])} />
      {panel.kind === 'confirm' && (
        <div ref={panelRef} class="confirm card" role="alertdialog" aria-labelledby="chat-confirm-text">
          <p id="chat-confirm-text">{CONFIRM_TEXT[panel.action].question}</p>
          <button type="button" class="danger" onClick={() => confirm(panel.action)}>
            {CONFIRM_TEXT[panel.action].button}
          </button>{' '}
          <button
            type="button"
            onClick={() => {
              setPanel({ kind: 'none' });
              button.current?.focus();
            }}
          >
            Cancel
          </button>
        </div>
      )}
      {panel.kind === 'rename' && (
        <form ref={panelRef} class="rename card" onSubmit={rename}>
          <label for="group-title">Group name</label>
          <input id="group-title" value={title} maxLength={200} required onInput={(e) => setTitle(e.currentTarget.value)} />
          <button type="submit">Save</button>{' '}
          <button type="button" onClick={() => setPanel({ kind: 'none' })}>
            Cancel
          </button>
        </form>
      )}
      {done && (
        <p class="notice" role="status">
          {done}
        </p>
      )}
    </div>
  );
}
