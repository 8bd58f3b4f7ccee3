// Users, their device sessions, and the files they upload: shared by every surface.
import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, pgTable, real, serial, text, timestamp, uuid } from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();

export const users = pgTable('users', {
  id: serial('id').primaryKey(),
  name: text('name').notNull(),
  /** Lowercased; unique. */
  username: text('username').notNull().unique(),
  /** Lowercased; optional, unique when present (Rocket.Chat logs in by email too). */
  email: text('email').unique(),
  /** The address is known to reach the user (Rocket.Chat's `emails[].verified`; the operator sets it: `npm run admin -- email`). */
  emailVerified: boolean('email_verified').notNull().default(false),
  passwordHash: text('password_hash').notNull(),
  /**
   * argon2id of the password's sha256 hex: checks the digest Rocket.Chat clients send as the
   * password-method proof. Set at a Rocket.Chat login, cleared when the password changes.
   */
  passwordDigestHash: text('password_digest_hash'),
  about: text('about'),
  language: text('language'),
  accountKeyHash: text('account_key_hash'),
  roles: text('roles').array().notNull().default(sql`ARRAY['user']::text[]`),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const deviceSessions = pgTable(
  'device_sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** sha256 of the access token, hex; the token itself is never stored. */
    tokenHash: text('token_hash').notNull().unique(),
    deviceId: uuid('device_id').notNull(),
    deviceName: text('device_name').notNull(),
    deviceModel: text('device_model').notNull(),
    deviceToken: text('device_token'),
    transport: text('transport', { enum: ['none', 'apns', 'fcm', 'web'] }).notNull(),
    ipAddress: text('ip_address'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('device_sessions_user_idx').on(t.userId)],
);

/** A file on disk under DATA_DIR/uploads, named `<name>.<fileType>`. */
export const uploads = pgTable(
  'uploads',
  {
    name: text('name').primaryKey(),
    fileType: text('file_type').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    ownerId: integer('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [index('uploads_owner_idx').on(t.ownerId)],
);

/**
 * A media resource (MediaInfo): an uploaded file in use as a profile photo, a chat
 * image or a message attachment. Its id is the upload's name.
 */
export const media = pgTable(
  'media',
  {
    id: uuid('id').primaryKey(),
    ownerId: integer('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    fileType: text('file_type').notNull(),
    fileSize: bigint('file_size', { mode: 'number' }).notNull(),
    previewWidth: integer('preview_width'),
    previewHeight: integer('preview_height'),
    duration: real('duration'),
    /** Set when this is a profile photo of that user. */
    photoOfUserId: integer('photo_of_user_id').references(() => users.id, { onDelete: 'cascade' }),
    /** Set when this is an image of that chat. */
    imageOfChatId: uuid('image_of_chat_id'),
    /** Set when attached to that message; position keeps the attachment order. */
    messageId: bigint('message_id', { mode: 'number' }),
    position: integer('position'),
    createdAt: createdAt(),
    uploadedAt: timestamp('uploaded_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    index('media_photo_of_user_idx').on(t.photoOfUserId),
    index('media_image_of_chat_idx').on(t.imageOfChatId),
    index('media_message_idx').on(t.messageId),
    index('media_owner_idx').on(t.ownerId, t.createdAt),
  ],
);

/** Counters of rate-limit-flexible's Drizzle store: shared by every Parley process. */
export const rateLimits = pgTable('rate_limits', {
  key: text('key').primaryKey(),
  points: integer('points').notNull(),
  expire: timestamp('expire', { withTimezone: true, mode: 'date' }),
});
