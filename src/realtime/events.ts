// The realtime contract every surface publishes to: `{event, source, payload}` frames
// delivered to every connected device session of the given users (and Web Push where
// the session has no socket).

export interface RealtimeEvent {
  /** message, messageUpdate, messageRead, chatUpdate, addedUsers, removedUsers, chatCleared, chatDeleted, auxiliary, … */
  event: string;
  /** The acting user's id as a string, or "system". */
  source: string;
  payload: unknown;
}

export interface Delivery {
  /** Every device session of these users receives the event. */
  userIds: number[];
  event: RealtimeEvent;
  /** The chat it concerns: push is skipped for users who muted it. */
  chatId?: string;
  /** Also send Web Push to sessions of these users that have no open socket. */
  push?: boolean;
  /** false: push only, no socket frames (notify with realm "push"); push then goes to every web session. */
  webSocket?: boolean;
}

/** A user came online (first socket in a process) or went away (last socket in every live process). */
export interface PresenceChange {
  userId: number;
  isOnline: boolean;
  lastSeen: Date;
}

export interface Realtime {
  /** Call after the transaction commits; resolves once the event is handed to the bus. */
  publish(delivery: Delivery): Promise<void>;
  /** The surface that knows who should hear about a user's presence publishes it from here. */
  onPresence(listener: (change: PresenceChange) => void | Promise<void>): void;
  /** Which of these users have a socket open in a live process. */
  onlineAmong(userIds: number[]): Promise<Set<number>>;
  /** `listener` sees every delivery that arrives from another process, before its sockets do. */
  observeRemote(listener: (delivery: Delivery) => void): void;
  close(): Promise<void>;
}
