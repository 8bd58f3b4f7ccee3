// The API as the browser sees it: openapi-fetch clients typed by the generated contract
// (messenger at /api, Rocket.Chat's 2FA at /api/v1), the stored session, readable errors.
import createClient, { type Middleware } from 'openapi-fetch';
import { humanValidation } from './rules.ts';
import type { components, paths } from '../../../src/generated/messenger.ts';
import type { paths as rcPaths } from '../../../src/generated/rocketchat.ts';

export type UserInfo = components['schemas']['UserInfo'];
export type ChatInfo = components['schemas']['ChatInfo'];
export type MessageInfo = components['schemas']['MessageInfo'];
export type MediaInfo = components['schemas']['MediaInfo'];
export type ContactInfo = components['schemas']['ContactInfo'];
export type DeviceInfo = components['schemas']['DeviceInfo'];
export type PrivateUserInfo = components['schemas']['PrivateUserInfo'];
export type Notification = components['schemas']['Notification'];

export interface Session {
  token: string;
  sessionId: string;
  userId: number;
}

const SESSION_KEY = 'parley.session';
const DEVICE_KEY = 'parley.device';

let current: Session | undefined = readSession();

function readSession(): Session | undefined {
  try {
    const stored = localStorage.getItem(SESSION_KEY);
    return stored ? (JSON.parse(stored) as Session) : undefined;
  } catch {
    return undefined;
  }
}

export const getSession = () => current;

export function setSession(session: Session | undefined) {
  current = session;
  if (session) localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  else localStorage.removeItem(SESSION_KEY);
}

/** crypto.randomUUID needs a secure context; a LAN address over http is not one. */
export function uuid(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** This browser as a device: one id kept across logins. */
export function deviceInfo(): DeviceInfo {
  let id = localStorage.getItem(DEVICE_KEY);
  if (!id) {
    id = uuid();
    localStorage.setItem(DEVICE_KEY, id);
  }
  return { id, name: 'Web browser', model: navigator.userAgent.slice(0, 200) || 'browser', transport: 'none' };
}

const bearer: Middleware = {
  onRequest({ request }) {
    if (current && !request.headers.has('authorization')) request.headers.set('authorization', `Bearer ${current.token}`);
    return request;
  },
};

const rocketChatAuth: Middleware = {
  onRequest({ request }) {
    if (current) {
      request.headers.set('x-user-id', String(current.userId));
      request.headers.set('x-auth-token', current.token);
    }
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: '/api' });
api.use(bearer);
export const rc = createClient<rcPaths>({ baseUrl: '/api/v1' });
rc.use(rocketChatAuth);

/** An API refusal, with the server's reason made readable, its machine code and the field it is about. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

const FRIENDLY: Record<string, string> = {
  'totp-required': 'This account uses two-factor authentication: enter the 6-digit code from your authenticator app.',
  'totp-invalid': 'That code is not valid. Enter the current code from your authenticator app.',
  'invalid-totp': 'That code is not valid. Enter the current code from your authenticator app.',
  'totp-max-attempts': 'Too many wrong codes. Wait a minute and try again.',
};

// Rocket.Chat's two-factor answers with details.method "password" ask for the password instead.
const FRIENDLY_PASSWORD: Record<string, string> = {
  'totp-required': 'Enter your password to confirm it is you.',
  'totp-invalid': 'That password is not right.',
};

export function failure(status: number, body: unknown): ApiFailure {
  const envelope = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  // Messenger: {error: true, reason}; Rocket.Chat: {success: false, error, errorType} or {status, message}.
  const raw =
    (typeof envelope.reason === 'string' && envelope.reason) ||
    (typeof envelope.error === 'string' && envelope.error) ||
    (typeof envelope.message === 'string' && envelope.message) ||
    (typeof body === 'string' && body) ||
    '';
  const tagged = /^(.*?)\s*\[([\w-]+)\]$/.exec(raw);
  const code = (typeof envelope.errorType === 'string' ? envelope.errorType : undefined) ?? tagged?.[2];
  const details = (envelope.details && typeof envelope.details === 'object' ? envelope.details : {}) as { method?: unknown };
  const friendly = details.method === 'password' ? FRIENDLY_PASSWORD : FRIENDLY;
  const invalid = status === 400 ? humanValidation(raw) : undefined;
  let message = (code && friendly[code]) || invalid?.message || (tagged ? tagged[1] : raw);
  if (!message) message = status === 429 ? 'Too many attempts. Wait a minute and try again.' : `The server answered ${status}.`;
  if (status === 429 && !/wait|try again/i.test(message)) message += ' Wait a minute and try again.';
  return new ApiFailure(status, message, code, invalid?.field);
}

interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** Awaits an openapi-fetch call: its data, or an ApiFailure with a readable message. */
export async function call<T>(request: Promise<FetchResult<T>>): Promise<T> {
  let result: FetchResult<T>;
  try {
    result = await request;
  } catch (error) {
    throw new ApiFailure(0, `Cannot reach the server (${error instanceof Error ? error.message : String(error)}).`);
  }
  if (!result.response.ok) throw failure(result.response.status, result.error);
  return result.data as T;
}

export const errorText = (error: unknown) =>
  error instanceof ApiFailure ? error.message : error instanceof Error ? `Something went wrong: ${error.message}` : String(error);

export function basicAuth(username: string, password: string): string {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

/** POST /api/uploads with the raw file; returns the stored name (`<uuid>.<ext>`) and the media to attach. */
export async function uploadFile(file: File): Promise<{ fileName: string; media: components['schemas']['MediaInfoInput'] }> {
  const extension = /\.([A-Za-z0-9]{1,10})$/.exec(file.name)?.[1]?.toLowerCase();
  // The server names the file by this: `notes.txt` should stay `.txt`, not become `.plain`.
  const contentType = extension || file.type || 'bin';
  const fileName = await call(
    api.POST('/uploads', {
      body: file as never,
      bodySerializer: (body: unknown) => body as never,
      parseAs: 'text',
      headers: { 'content-type': contentType },
    }),
  );
  const match = /^([^.]+)\.(\w+)$/.exec(fileName.trim());
  if (!match) throw new ApiFailure(500, `The server stored the file under an unexpected name: ${fileName}`);
  return { fileName: fileName.trim(), media: { id: match[1], fileType: match[2], fileSize: Math.max(1, file.size) } };
}

/** The types the server makes previews of (src/files/previews.ts). */
export const IMAGE_TYPES = new Set(['jpg', 'jpeg', 'png', 'gif', 'webp']);

export const fileUrl = (media: MediaInfo) => `/uploads/${media.id}.${media.fileType}`;
export const previewUrl = (media: MediaInfo) => `/uploads/${media.id}-preview.jpeg`;

export function displayName(user: UserInfo | undefined): string {
  if (!user) return 'Someone';
  return user.name?.trim() || user.username || `User ${user.id}`;
}

export function chatTitle(chat: ChatInfo, me: number): string {
  if (!chat.isPersonal && chat.title) return chat.title;
  const others = (chat.allUsers ?? []).filter((user) => user.id !== me);
  if (others.length === 0) return chat.isPersonal ? 'Notes' : chat.title || 'Group';
  return others.map(displayName).join(', ');
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function formatTime(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  const today = new Date();
  return date.toDateString() === today.toDateString()
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}
