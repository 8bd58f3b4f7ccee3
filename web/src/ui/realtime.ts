// The live connection: /ws/<deviceSessionId>?token=…, binary frames of JSON
// {event, source, payload}; reconnects with backoff (at once when the browser comes back
// online or the page regains focus) and says when it is back.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Notification, Session } from './api.ts';

export type RealtimeStatus = 'connecting' | 'online' | 'offline';

/** What the open screen hears from the socket; `resync` after a reconnect. */
export type LiveEvent = Notification | { event: 'resync'; source: 'client'; payload?: undefined };
export type Subscribe = (listener: (event: LiveEvent) => void) => () => void;

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

/**
 * The signed-in app's connection: its status, and `subscribe` for the open screen's listeners,
 * which hear each event before `onEvent` (the chat list) does.
 */
export function useLiveConnection(session: Session, onEvent: (event: LiveEvent) => void, onOffline: () => void): { status: RealtimeStatus; subscribe: Subscribe } {
  const [status, setStatus] = useState<RealtimeStatus>('connecting');
  const listeners = useRef(new Set<(event: LiveEvent) => void>());
  const handlers = useRef({ onEvent, onOffline });
  handlers.current = { onEvent, onOffline };
  useEffect(() => {
    const dispatch = (event: LiveEvent) => {
      for (const listener of listeners.current) listener(event);
      handlers.current.onEvent(event);
    };
    return connectRealtime(session, dispatch, (next, reconnected) => {
      setStatus(next);
      // A socket refused for good usually means the session was revoked: find out.
      if (next === 'offline') handlers.current.onOffline();
      if (reconnected) dispatch({ event: 'resync', source: 'client' });
    });
  }, []);
  const subscribe: Subscribe = useCallback((listener) => {
    listeners.current.add(listener);
    return () => listeners.current.delete(listener);
  }, []);
  return { status, subscribe };
}
