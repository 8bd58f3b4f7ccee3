// Every environment variable Parley reads, parsed and typed in one place.
import path from 'node:path';
import { projectRoot } from './paths.ts';

export interface Config {
  port: number;
  host: string;
  /** postgres://… for a real PostgreSQL; undefined means embedded PGlite in dataDir. */
  databaseUrl?: string;
  dataDir: string;
  logLevel: string;
  publicUrl: string;
  serverName: string;
  uploadMaxBytes: number;
  /** Login attempts allowed per account and per IP address in one window. */
  loginRateLimit: { perAccount: number; perIp: number; windowMs: number };
  /** Guesses of secrets (account keys, 2FA codes, email tokens) per key in one window. */
  guessRateLimit: { max: number; windowMs: number };
  /** Outgoing mail: SMTP_URL (none: .eml files in DATA_DIR/outbox), MAIL_FROM, TEMPLATES_DIR, EMAIL_BRAND. */
  mail: { smtpUrl?: string; from: string; templatesDir: string; brand: string };
  /** The Matrix identity service (/_matrix/identity). */
  identity: {
    /** Signs as this (SERVER_NAME; else PUBLIC_URL's host[:port]). */
    serverName: string;
    /** TERMS_PATH: terms YAML in Sydent's format; none means nothing to accept. */
    termsPath?: string;
    /** MATRIX_FEDERATION_VERIFY_TLS=false accepts self-signed homeserver certificates. */
    federationVerifyTls: boolean;
    /** MATRIX_FEDERATION_ALLOWED_SERVERS: the only homeservers contacted (comma-separated server names); unset means any. */
    federationAllowedServers?: string[];
    /** Emails (token requests, invites) per address and per client (IP in v1, account in v2) in one window. */
    emailRateLimit: { perAddress: number; perClient: number; windowMs: number };
  };
  /** WebSocket ping period; also the presence heartbeat of this process (REALTIME_PING_INTERVAL_MS). */
  realtimePingIntervalMs: number;
  /** VAPID subject of Web Push (VAPID_SUBJECT): a mailto: or https: URL the push services may contact. */
  vapidSubject: string;
  /** PARLEY_ADMIN_USERNAME + PARLEY_ADMIN_PASSWORD: an administrator created at start-up when missing. */
  initialAdmin?: { username: string; password: string };
}

function integer(name: string, fallback: number, env: NodeJS.ProcessEnv): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

function initialAdmin(env: NodeJS.ProcessEnv): Config['initialAdmin'] {
  const username = env.PARLEY_ADMIN_USERNAME?.trim();
  const password = env.PARLEY_ADMIN_PASSWORD;
  if (!username && !password) return undefined;
  if (!username || !password) throw new Error('PARLEY_ADMIN_USERNAME and PARLEY_ADMIN_PASSWORD must be set together');
  if (!/^[A-Za-z][A-Za-z0-9]{4,24}$/.test(username)) {
    throw new Error('PARLEY_ADMIN_USERNAME must be 5-25 letters and digits, starting with a letter');
  }
  // The messenger's password rules (openapi/messenger.yaml Password).
  if (password.length < 8 || password.length > 25) throw new Error('PARLEY_ADMIN_PASSWORD must be 8 to 25 characters long');
  return { username: username.toLowerCase(), password };
}

function vapidSubject(value: string | undefined, publicUrl: string | undefined): string {
  const subject = value || publicUrl || '';
  if (/^(mailto:|https:\/\/)/.test(subject)) return subject;
  if (value) throw new Error('VAPID_SUBJECT must be a mailto: or https:// URL');
  return 'mailto:admin@localhost';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = integer('PORT', 8080, env);
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new Error('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }
  return {
    port,
    host: env.HOST || '0.0.0.0',
    databaseUrl,
    dataDir: path.resolve(env.DATA_DIR || './data'),
    logLevel: env.LOG_LEVEL || 'info',
    publicUrl: (env.PUBLIC_URL || `http://localhost:${port}`).replace(/\/+$/, ''),
    serverName: env.SERVER_NAME || 'Parley',
    uploadMaxBytes: integer('UPLOAD_MAX_BYTES', 200_000_000, env),
    loginRateLimit: {
      perAccount: integer('LOGIN_RATE_LIMIT_PER_ACCOUNT', 10, env),
      perIp: integer('LOGIN_RATE_LIMIT_PER_IP', 50, env),
      windowMs: integer('LOGIN_RATE_LIMIT_WINDOW_MS', 60_000, env),
    },
    guessRateLimit: {
      max: integer('GUESS_RATE_LIMIT', 10, env),
      windowMs: integer('GUESS_RATE_LIMIT_WINDOW_MS', 60_000, env),
    },
    mail: {
      smtpUrl: env.SMTP_URL || undefined,
      from: env.MAIL_FROM || 'Parley <noreply@localhost>',
      templatesDir: path.resolve(env.TEMPLATES_DIR || path.join(projectRoot, 'templates')),
      brand: env.EMAIL_BRAND || 'matrix-org',
    },
    identity: {
      serverName: env.SERVER_NAME || new URL(env.PUBLIC_URL || `http://localhost:${port}`).host,
      termsPath: env.TERMS_PATH || undefined,
      federationVerifyTls: !/^(false|0|no)$/i.test(env.MATRIX_FEDERATION_VERIFY_TLS ?? ''),
      federationAllowedServers: env.MATRIX_FEDERATION_ALLOWED_SERVERS
        ? env.MATRIX_FEDERATION_ALLOWED_SERVERS.split(',').map((name) => name.trim().toLowerCase()).filter(Boolean)
        : undefined,
      emailRateLimit: {
        perAddress: integer('IDENTITY_EMAIL_RATE_LIMIT_PER_ADDRESS', 5, env),
        perClient: integer('IDENTITY_EMAIL_RATE_LIMIT_PER_CLIENT', 20, env),
        windowMs: integer('IDENTITY_EMAIL_RATE_LIMIT_WINDOW_MS', 300_000, env),
      },
    },
    realtimePingIntervalMs: Math.max(1_000, integer('REALTIME_PING_INTERVAL_MS', 30_000, env)),
    vapidSubject: vapidSubject(env.VAPID_SUBJECT, env.PUBLIC_URL),
    initialAdmin: initialAdmin(env),
  };
}
