// The Matrix identity service (Sydent drop-in): its signing keys, validation sessions,
// 3PID associations, pending invites and identity-server accounts.
import { bigint, index, integer, pgTable, serial, smallint, text, timestamp, unique } from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();

/** Long-term signing keys (`ed25519:0`), made at first start and shared by every process. */
export const identityServerKeys = pgTable('identity_server_keys', {
  keyId: text('key_id').primaryKey(),
  /** The 32-byte ed25519 seed, unpadded base64. */
  privateSeed: text('private_seed').notNull(),
  /** Unpadded standard base64 of the 32-byte public key. */
  publicKey: text('public_key').notNull(),
  createdAt: createdAt(),
});

/** One row (id 0): the pepper of hashed lookups. */
export const identityHashing = pgTable('identity_hashing', {
  id: smallint('id').primaryKey(),
  lookupPepper: text('lookup_pepper').notNull(),
});

export const identityValidationSessions = pgTable(
  'identity_validation_sessions',
  {
    sid: text('sid').primaryKey(),
    medium: text('medium').notNull(),
    /** As the client supplied it; normalised at bind. */
    address: text('address').notNull(),
    clientSecret: text('client_secret').notNull(),
    /** sha256 of the emailed token; a new send makes a new token. */
    tokenHash: text('token_hash').notNull(),
    /** -1 until a send_attempt is recorded. */
    sendAttempt: integer('send_attempt').notNull().default(-1),
    nextLink: text('next_link'),
    validatedAt: timestamp('validated_at', { withTimezone: true, mode: 'date' }),
    /** Refreshed by each requestToken: the session clock. */
    mtime: timestamp('mtime', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    createdAt: createdAt(),
  },
  (t) => [unique('identity_validation_sessions_key').on(t.medium, t.address, t.clientSecret)],
);

/** A 3PID → Matrix ID association published by a bind. */
export const identityAssociations = pgTable(
  'identity_associations',
  {
    id: serial('id').primaryKey(),
    medium: text('medium').notNull(),
    /** Normalised (emails lower-cased). */
    address: text('address').notNull(),
    /** sha256("<address> <medium> <pepper>"), unpadded URL-safe base64. */
    lookupHash: text('lookup_hash').notNull(),
    mxid: text('mxid').notNull(),
    ts: bigint('ts', { mode: 'number' }).notNull(),
    notBefore: bigint('not_before', { mode: 'number' }).notNull(),
    notAfter: bigint('not_after', { mode: 'number' }).notNull(),
  },
  (t) => [unique('identity_associations_threepid').on(t.medium, t.address), index('identity_associations_hash_idx').on(t.lookupHash)],
);

/** An invite stored by store-invite, waiting for the address to be bound. */
export const identityInvites = pgTable(
  'identity_invites',
  {
    id: serial('id').primaryKey(),
    medium: text('medium').notNull(),
    address: text('address').notNull(),
    roomId: text('room_id').notNull(),
    sender: text('sender').notNull(),
    /** Kept in clear: the protocol sends it to the homeserver on bind and signs it. */
    token: text('token').notNull().unique(),
    ephemeralPublicKey: text('ephemeral_public_key').notNull(),
    receivedAt: createdAt(),
    /** Set when a bind picked the invite up for delivery. */
    sentAt: timestamp('sent_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [index('identity_invites_threepid_idx').on(t.medium, t.address)],
);

/** Public halves of store-invite's ephemeral keys (URL-safe unpadded base64). */
export const identityEphemeralKeys = pgTable('identity_ephemeral_keys', {
  publicKey: text('public_key').primaryKey(),
  verifyCount: integer('verify_count').notNull().default(0),
  createdAt: createdAt(),
});

/** An identity-server account: a Matrix user who registered through OpenID. */
export const identityAccounts = pgTable('identity_accounts', {
  userId: text('user_id').primaryKey(),
  consentVersion: text('consent_version'),
  createdAt: createdAt(),
});

export const identityAccessTokens = pgTable(
  'identity_access_tokens',
  {
    /** sha256 of the token, hex. */
    tokenHash: text('token_hash').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => identityAccounts.userId, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [index('identity_access_tokens_user_idx').on(t.userId)],
);

export const identityAcceptedTerms = pgTable(
  'identity_accepted_terms',
  {
    userId: text('user_id')
      .notNull()
      .references(() => identityAccounts.userId, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    acceptedAt: createdAt(),
  },
  (t) => [unique('identity_accepted_terms_key').on(t.userId, t.url)],
);
