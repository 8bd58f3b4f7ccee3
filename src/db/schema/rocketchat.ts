// The Rocket.Chat-compatible surface's own data: permissions granted to roles, users'
// E2E key pairs, TOTP enrolments and email as a second factor. Room keys live on chats / chat_members.
import { bigint, boolean, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import { users } from './core.ts';

/** A Rocket.Chat permission (`edit-other-user-e2ee` …) and the roles it is granted to. */
export const rocketchatPermissions = pgTable('rocketchat_permissions', {
  id: text('id').primaryKey(),
  roles: text('roles').array().notNull().default(sql`ARRAY[]::text[]`),
});

/** A user's E2E key pair: the public key (JWK) and the client-encrypted private key, both opaque. */
export const e2eUserKeys = pgTable('e2e_user_keys', {
  userId: integer('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  publicKey: text('public_key').notNull(),
  privateKey: text('private_key').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/** TOTP two-factor state of a user; the secret is never returned after enrolment. */
export const totpEnrolments = pgTable('totp_enrolments', {
  userId: integer('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  enabled: boolean('enabled').notNull().default(false),
  /** Base32 secret of the confirmed enrolment. */
  secret: text('secret'),
  /** Base32 secret awaiting its first code. */
  tempSecret: text('temp_secret'),
  /** sha256 hex of each unused backup code. */
  backupCodeHashes: text('backup_code_hashes').array().notNull().default(sql`ARRAY[]::text[]`),
  /** The newest accepted TOTP time step: a code of that step or older is a replay. */
  lastTimeStep: bigint('last_time_step', { mode: 'number' }),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/**
 * Email as a second factor (Rocket.Chat's services.email2fa + services.emailCode): on for the
 * user, and the one live code mailed to their verified address (a new send replaces it).
 */
export const emailTwoFactor = pgTable('email_two_factor', {
  userId: integer('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  enabled: boolean('enabled').notNull().default(false),
  /** argon2id of the 6-digit code: a leaked row does not give the live code away. */
  codeHash: text('code_hash'),
  codeExpiresAt: timestamp('code_expires_at', { withTimezone: true, mode: 'date' }),
  /** Wrong guesses of the live code; at 5 it is dropped (Rocket.Chat's Max_Invalid_Email_Code_Attempts). */
  codeWrongGuesses: integer('code_wrong_guesses').notNull().default(0),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});
