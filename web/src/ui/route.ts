// Each screen has a URL (History API): `/?chat=<id>`, `/?screen=profile|contacts|new`.
// Query strings, not paths: the server serves the client at `/` only, so a reload or a
// shared link always lands on the app.
export type View = { kind: 'home' } | { kind: 'chat'; chatId: string } | { kind: 'new' } | { kind: 'contacts' } | { kind: 'profile' };

const SCREENS = new Set(['new', 'contacts', 'profile']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function viewFromUrl(url: URL = new URL(location.href)): View {
  const chat = url.searchParams.get('chat');
  if (chat && UUID.test(chat)) return { kind: 'chat', chatId: chat };
  const screen = url.searchParams.get('screen');
  if (screen && SCREENS.has(screen)) return { kind: screen as 'new' | 'contacts' | 'profile' };
  return { kind: 'home' };
}

export function urlOf(view: View): string {
  if (view.kind === 'chat') return `/?chat=${view.chatId}`;
  if (view.kind === 'home') return '/';
  return `/?screen=${view.kind}`;
}

/** A new history entry, unless the URL already says this (a reload, Back). */
export function pushView(view: View, replace = false) {
  const url = urlOf(view);
  if (location.pathname + location.search === url) return;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
}
