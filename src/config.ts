// Every environment variable Parley reads, parsed and typed in one place.
import path from 'node:path';

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
}

function integer(name: string, fallback: number, env: NodeJS.ProcessEnv): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
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
  };
}
