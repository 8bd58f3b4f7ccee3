// The live connection: /ws/<deviceSessionId>?token=…, binary frames of JSON
// {event, source, payload}; reconnects with backoff (at once when the browser comes back
// online or the page regains focus) and says when it is back.
import type { Notification, Session } from './api.ts';

export type RealtimeStatus = 'connecting' | 'online' | 'offline';

export function connectRealtime(
  session: Session,
  onEvent: (notification: Notification) => void,
  onStatus: (status: RealtimeStatus, reconnected: boolean) => void,
): () => void {
  let socket: WebSocket | undefined;
  let stopped = false;
  let attempts = 0;
  let everOpen = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const decoder = new TextDecoder();

  const open = () => {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const url = `${scheme}://${location.host}/ws/${session.sessionId}?token=${encodeURIComponent(session.token)}`;
    onStatus('connecting', false);
    socket = new WebSocket(url);
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      attempts = 0;
      onStatus('online', everOpen);
      everOpen = true;
    };
    socket.onmessage = (message) => {
      try {
        const text = typeof message.data === 'string' ? message.data : decoder.decode(message.data as ArrayBuffer);
        const notification = JSON.parse(text) as Notification;
        if (notification && typeof notification.event === 'string') onEvent(notification);
      } catch {
        // Not a notification (a keep-alive text frame): nothing to do.
      }
    };
    socket.onclose = () => {
      socket = undefined;
      if (stopped) return;
      onStatus('offline', false);
      attempts += 1;
      timer = setTimeout(open, Math.min(30_000, 500 * 2 ** Math.min(attempts, 6)));
    };
  };
  // Waiting out a backoff after the network is back would leave the person offline for up to 30 s.
  const now = () => {
    if (stopped || socket) return;
    if (timer) clearTimeout(timer);
    attempts = 0;
    open();
  };
  open();
  addEventListener('online', now);
  addEventListener('focus', now);
  document.addEventListener('visibilitychange', now);
  return () => {
    stopped = true;
    removeEventListener('online', now);
    removeEventListener('focus', now);
    document.removeEventListener('visibilitychange', now);
    if (timer) clearTimeout(timer);
    socket?.close(1000, 'logged out');
  };
}
