// Database rows → the messenger's JSON objects (UserInfo, DeviceSession, MediaInfo).
// Absent values are omitted, as in the reference.
import type { MediaRow, SessionRow, UserRow } from '../auth/sessions.ts';
import type { components } from '../generated/messenger.ts';

type Schemas = components['schemas'];
export type UserInfo = Schemas['UserInfo'];
export type MediaInfo = Schemas['MediaInfo'];
export type DeviceSessionInfo = Schemas['DeviceSession'];
export type PrivateUserInfo = Schemas['PrivateUserInfo'];
export type { MediaRow };

const iso = (date: Date | null | undefined) => date?.toISOString();

export function mediaInfo(row: MediaRow): MediaInfo {
  return {
    id: row.id,
    fileType: row.fileType,
    fileSize: row.fileSize,
    previewWidth: row.previewWidth ?? undefined,
    previewHeight: row.previewHeight ?? undefined,
    duration: row.duration ?? undefined,
    createdAt: iso(row.createdAt),
    uploadedAt: iso(row.uploadedAt),
  };
}

export interface UserInfoOptions {
  /** Adds about, language and lastSeen. */
  full?: boolean;
  photos?: MediaRow[];
  lastSeen?: Date | null;
}

export function userInfo(user: UserRow | Pick<UserRow, 'id' | 'name' | 'username' | 'about' | 'language' | 'createdAt'>, options: UserInfoOptions = {}): UserInfo {
  const info: UserInfo = { id: user.id, name: user.name, username: user.username, createdAt: iso(user.createdAt) };
  if (options.full) {
    info.about = user.about ?? undefined;
    info.language = user.language ?? undefined;
    info.lastSeen = iso(options.lastSeen);
  }
  if (options.photos?.length) info.photos = options.photos.map(mediaInfo);
  return info;
}

export function deviceSessionInfo(session: SessionRow, accessToken: string): DeviceSessionInfo {
  return {
    id: session.id,
    accessToken,
    ipAddress: session.ipAddress ?? undefined,
    createdAt: iso(session.createdAt),
    updatedAt: iso(session.updatedAt),
    deviceInfo: {
      id: session.deviceId,
      name: session.deviceName,
      model: session.deviceModel,
      token: session.deviceToken ?? undefined,
      transport: session.transport,
    },
  };
}
