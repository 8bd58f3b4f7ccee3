// This process's open WebSockets, by user and by device session, and the fan-out that
// writes one serialized frame to many of them without holding the event loop.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { WebSocket } from 'ws';

/** Sockets written per turn of the event loop during a fan-out. */
const FAN_OUT_CHUNK = 256;
/** A client this far behind (bytes queued) is dropped rather than buffered without end. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_POLICY_VIOLATION = 1008;

export interface SocketClient {
  id: string;
  socket: WebSocket;
  userId: number;
  sessionId: string;
  /** Answered the last ping. */
  alive: boolean;
}

export class SocketRegistry {
  private readonly byUser = new Map<number, Set<SocketClient>>();
  private readonly bySession = new Map<string, Set<SocketClient>>();

  get size(): number {
    let count = 0;
    for (const clients of this.bySession.values()) count += clients.size;
    return count;
  }

  /** Open sockets of this user, or of this device session, in this process. */
  countOf(key: { userId: number } | { sessionId: string }): number {
    return ('userId' in key ? this.byUser.get(key.userId) : this.bySession.get(key.sessionId))?.size ?? 0;
  }

  add(client: SocketClient): void {
    addTo(this.byUser, client.userId, client);
    addTo(this.bySession, client.sessionId, client);
  }

  remove(client: SocketClient): void {
    removeFrom(this.byUser, client.userId, client);
    removeFrom(this.bySession, client.sessionId, client);
  }

  all(): SocketClient[] {
    return [...this.bySession.values()].flatMap((clients) => [...clients]);
  }

  sessionIds(): string[] {
    return [...this.bySession.keys()];
  }

  /** Closes every socket of these sessions (revoked) and forgets them. */
  closeSessions(sessionIds: Iterable<string>, code: number, reason: string): void {
    for (const sessionId of sessionIds) {
      for (const client of [...(this.bySession.get(sessionId) ?? [])]) {
        this.remove(client);
        client.socket.close(code, reason);
      }
    }
  }

  /** Writes `frame` (serialized once by the caller) to every open socket of these users. */
  async deliver(userIds: Iterable<number>, frame: Buffer): Promise<number> {
    const targets: SocketClient[] = [];
    for (const userId of new Set(userIds)) for (const client of this.byUser.get(userId) ?? []) targets.push(client);
    let sent = 0;
    for (let start = 0; start < targets.length; start += FAN_OUT_CHUNK) {
      if (start > 0) await yieldToLoop();
      for (const client of targets.slice(start, start + FAN_OUT_CHUNK)) {
        const { socket } = client;
        if (socket.readyState !== WebSocket.OPEN) continue;
        if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
          this.remove(client);
          socket.terminate();
          continue;
        }
        socket.send(frame, { binary: true });
        sent += 1;
      }
    }
    return sent;
  }
}

function addTo<K>(map: Map<K, Set<SocketClient>>, key: K, client: SocketClient) {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(client);
}

function removeFrom<K>(map: Map<K, Set<SocketClient>>, key: K, client: SocketClient) {
  const set = map.get(key);
  if (!set) return;
  set.delete(client);
  if (set.size === 0) map.delete(key);
}
