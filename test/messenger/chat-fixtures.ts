// Shared set-up of the chat, message, media and authorization tests: users, chats,
// uploads, and a recorder of what the server publishes to the realtime bus.
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import type { Delivery } from '../../src/realtime/events.ts';
import type { TestApp } from '../helpers/app.ts';
import { registerUser, type TestUser } from '../helpers/messenger.ts';

export const localId = (user: { id: number }) => `${user.id}+${randomUUID()}`;

export async function users(baseUrl: string, count: number): Promise<TestUser[]> {
  return Promise.all(Array.from({ length: count }, () => registerUser(baseUrl)));
}

export async function createChat(owner: TestUser, others: TestUser[], options: { title?: string; isPersonal?: boolean } = {}) {
  const { data, response, error } = await owner.api.POST('/chats', {
    body: { participants: others.map((u) => u.id), ...options },
  });
  if (!data) throw new Error(`create chat failed: ${response.status} ${JSON.stringify(error)}`);
  return data;
}

export async function post(user: TestUser, chatId: string, text: string, extra: Record<string, unknown> = {}) {
  return user.api.POST('/chats/{chatId}/messages', { params: { path: { chatId } }, body: { localId: localId(user), text, ...extra } });
}

let png: Buffer | undefined;
/** A real 4×4 PNG. */
export async function pngBytes(): Promise<Buffer> {
  png ??= await sharp({ create: { width: 4, height: 4, channels: 3, background: '#3366cc' } }).png().toBuffer();
  return png;
}

/** Uploads bytes and answers the media id (the upload's name) and its file name. */
export async function upload(user: TestUser, bytes: Uint8Array | string, contentType: string): Promise<{ id: string; fileName: string; size: number }> {
  const { data, response } = await user.api.POST('/uploads', {
    body: bytes as never,
    bodySerializer: (body) => body as never,
    parseAs: 'text',
    headers: { 'content-type': contentType },
  });
  if (!data) throw new Error(`upload failed: ${response.status}`);
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length;
  return { id: data.split('.')[0], fileName: data, size };
}

/** Records every delivery handed to the kernel's realtime (and still delivers it). */
export function recordEvents(app: TestApp['app']) {
  const deliveries: Delivery[] = [];
  const realtime = app.kernel.realtime;
  const original = realtime.publish.bind(realtime);
  realtime.publish = async (delivery: Delivery) => {
    deliveries.push(structuredClone(delivery));
    return original(delivery);
  };
  return {
    deliveries,
    /** Deliveries of this chat (and event name) since the last `clear`. */
    of(chatId: string, event?: string) {
      return deliveries.filter((d) => d.chatId === chatId && (!event || d.event.event === event));
    },
    clear() {
      deliveries.length = 0;
    },
  };
}
