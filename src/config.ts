// Every environment variable Parley reads, parsed and typed in one place.
import path from 'node:path';
import { parseCidrList } from './http/outbound.ts';
import { projectRoot } from './paths.ts';

export interface Config {
  port: number;
  host: string;
  /** postgres://… for a real PostgreSQL; undefined means embedded PGlite in dataDir. */
  databaseUrl?: string;
  dataDir: string;
  logLevel: string;
  /** LOG_FORMAT=pretty|json: readable lines (pino-pretty) or JSON lines; default pretty when stdout is a terminal. */
  logFormat: 'pretty' | 'json';
  /** METRICS_TOKEN: when set, GET /metrics needs `Authorization: Bearer <it>`; unset, /metrics is open (keep it off the public network). */
  metricsToken?: string;
  publicUrl: string;
  serverName: string;
  uploadMaxBytes: number;
  /** HISTORY_CACHE_MB: history pages (JSON) kept in memory per process, dropped by the chat's events; 0 turns it off. */
  historyCacheBytes: number;
  /**
   * Failed logins allowed in one window: per (account, client address) pair
   * (LOGIN_RATE_LIMIT_PER_ACCOUNT), so an attacker's address is refused, not the owner's; per
   * account over all addresses (LOGIN_RATE_LIMIT_PER_ACCOUNT_CEILING, default 10× the pair's);
   * per address (LOGIN_RATE_LIMIT_PER_IP). A success forgets its pair's failures.
   */
  loginRateLimit: { perAccount: number; perAccountCeiling: number; perIp: number; windowMs: number };
  /** Registrations per client address in one window (REGISTER_RATE_LIMIT_PER_IP, REGISTER_RATE_LIMIT_WINDOW_MS). */
  registerRateLimit: { perIp: number; windowMs: number };
  /** Guesses of secrets (account keys, 2FA codes, email tokens) per key in one window. */
  guessRateLimit: { max: number; windowMs: number };
  /** Outgoing mail: SMTP_URL (none: .eml files in DATA_DIR/outbox), MAIL_FROM, TEMPLATES_DIR, EMAIL_BRAND. */
  mail: { smtpUrl?: string; from: string; templatesDir: string; brand: string };
  /** Email as a second factor: a mailed code lives TWO_FACTOR_EMAIL_CODE_TTL_SECONDS (3600, Rocket.Chat's default); TWO_FACTOR_EMAIL_RATE_LIMIT codes per user, and send requests per client address, in TWO_FACTOR_EMAIL_RATE_LIMIT_WINDOW_MS (5 per 300000). */
  emailCode: { ttlSeconds: number; perUser: number; windowMs: number };
  /** Text messages (identity msisdn codes): SMS_WEBHOOK_URL, the operator's relay (none: .sms.txt files in DATA_DIR/outbox); SMS_WEBHOOK_TOKEN, its bearer token. */
  sms: { webhookUrl?: string; webhookToken?: string };
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
    /** Emails (token requests, invites) and texts (msisdn token requests) per address or number and per client (IP in v1, account in v2) in one window. */
    emailRateLimit: { perAddress: number; perClient: number; windowMs: number };
    /** IDENTITY_RATE_LIMIT_PER_IP: requests a minute per client address to each of bind, unbind, account/register, store-invite and the lookups (counted in memory). */
    ratePerIp: number;
    /** IDENTITY_LOOKUP_CACHE_ENTRIES: 3PID lookup answers (bound or not) kept in memory per process, invalidated by change notices. */
    lookupCacheEntries: number;
    /** IDENTITY_WEB_CLIENT_LOCATIONS: the only origins an invite's org.matrix.web_client_location may name (comma-separated); unset means any https: URL. */
    webClientLocations?: string[];
    /** IDENTITY_NEXT_LINK_ALLOWED_HOSTS: the only hosts a validation next_link may point to (comma-separated); unset means any http(s) URL. */
    nextLinkAllowedHosts?: string[];
  };
  /** OUTBOUND_IP_ALLOWLIST: CIDR ranges outbound requests may reach although the outbound policy blocks them (private homeservers, tests). */
  outboundIpAllowlist: string[];
  /** WebSocket ping period; also the presence heartbeat of this process (REALTIME_PING_INTERVAL_MS). */
  realtimePingIntervalMs: number;
  /** VAPID subject of Web Push (VAPID_SUBJECT): a mailto: or https: URL the push services may contact. */
  vapidSubject: string;
  /** PARLEY_ADMIN_USERNAME + PARLEY_ADMIN_PASSWORD: an administrator created at start-up when missing. */
  initialAdmin?: { username: string; password: string };
  /** Limits that keep slow or greedy HTTP clients from exhausting the server. */
  http: {
    /** HTTP_MAX_CONNECTIONS_PER_IP: concurrent connections per client address (0: no limit). */
    maxConnectionsPerIp: number;
    /** HTTP_HEADERS_TIMEOUT_MS: a request's headers must arrive within this time. */
    headersTimeoutMs: number;
    /** HTTP_BODY_TIMEOUT_MS: a parsed (JSON, form) request body must arrive within this time (408). */
    bodyTimeoutMs: number;
    /** HTTP_UPLOAD_IDLE_TIMEOUT_MS: a streamed upload is cut when no byte arrives for this long. */
    uploadIdleTimeoutMs: number;
    /** HTTP_KEEP_ALIVE_TIMEOUT_MS: an idle keep-alive connection is closed after this long. */
    keepAliveTimeoutMs: number;
  };
  /** WS_MAX_PER_SESSION, WS_MAX_PER_USER: open WebSockets per device session and per user (in this process). */
  webSocketLimits: { perSession: number; perUser: number };
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

function loginRateLimit(env: NodeJS.ProcessEnv): Config['loginRateLimit'] {
  const perAccount = integer('LOGIN_RATE_LIMIT_PER_ACCOUNT', 10, env);
  return {
    perAccount,
    perAccountCeiling: integer('LOGIN_RATE_LIMIT_PER_ACCOUNT_CEILING', perAccount * 10, env),
    perIp: integer('LOGIN_RATE_LIMIT_PER_IP', 50, env),
    windowMs: integer('LOGIN_RATE_LIMIT_WINDOW_MS', 60_000, env),
  };
}

function vapidSubject(value: string | undefined, publicUrl: string | undefined): string {
  const subject = value || publicUrl || '';
  if (/^(mailto:|https:\/\/)/.test(subject)) return subject;
  if (value) throw new Error('VAPID_SUBJECT must be a mailto: or https:// URL');
  return 'mailto:admin@localhost';
}

/** A comma-separated list; undefined when unset or empty. */
function list(value: string | undefined): string[] | undefined {
  const entries = (value ?? '').split(',').map((entry) => entry.trim()).filter(Boolean);
  return entries.length > 0 ? entries : undefined;
}

/** An http(s) URL: the operator's SMS relay (plain http is allowed for a relay on the same host or network). */
function smsWebhookUrl(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol === 'https:' || url.protocol === 'http:') return url.toString();
  } catch {
    // reported below
  }
  throw new Error(`SMS_WEBHOOK_URL must be an http(s) URL, got "${value}"`);
}

function origin(name: string, value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol === 'https:') return url.origin;
  } catch {
    // reported below
  }
  throw new Error(`${name} must list https:// origins, got "${value}"`);
}

function cidrList(name: string, value: string | undefined): string[] {
  try {
    return parseCidrList(value);
  } catch (error) {
    throw new Error(`${name}: ${(error as Error).message}`);
  }
}

function logFormat(value: string | undefined): Config['logFormat'] {
  if (value === 'pretty' || value === 'json') return value;
  if (value) throw new Error(`LOG_FORMAT must be pretty or json, got "${value}"`);
  return process.stdout.isTTY ? 'pretty' : 'json';
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
    logFormat: logFormat(env.LOG_FORMAT),
    metricsToken: env.METRICS_TOKEN || undefined,
    publicUrl: (env.PUBLIC_URL || `http://localhost:${port}`).replace(/\/+$/, ''),
    serverName: env.SERVER_NAME || 'Parley',
    uploadMaxBytes: integer('UPLOAD_MAX_BYTES', 200_000_000, env),
    historyCacheBytes: Math.max(0, integer('HISTORY_CACHE_MB', 64, env)) * 1024 * 1024,
    loginRateLimit: loginRateLimit(env),
    registerRateLimit: {
      perIp: integer('REGISTER_RATE_LIMIT_PER_IP', 10, env),
      windowMs: integer('REGISTER_RATE_LIMIT_WINDOW_MS', 600_000, env),
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
    emailCode: {
      ttlSeconds: Math.max(60, integer('TWO_FACTOR_EMAIL_CODE_TTL_SECONDS', 3600, env)),
      perUser: integer('TWO_FACTOR_EMAIL_RATE_LIMIT', 5, env),
      windowMs: integer('TWO_FACTOR_EMAIL_RATE_LIMIT_WINDOW_MS', 300_000, env),
    },
    sms: {
      webhookUrl: smsWebhookUrl(env.SMS_WEBHOOK_URL),
      webhookToken: env.SMS_WEBHOOK_TOKEN || undefined,
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
      ratePerIp: integer('IDENTITY_RATE_LIMIT_PER_IP', 300, env),
      lookupCacheEntries: Math.max(1, integer('IDENTITY_LOOKUP_CACHE_ENTRIES', 50_000, env)),
      webClientLocations: list(env.IDENTITY_WEB_CLIENT_LOCATIONS)?.map((location) => origin('IDENTITY_WEB_CLIENT_LOCATIONS', location)),
      nextLinkAllowedHosts: list(env.IDENTITY_NEXT_LINK_ALLOWED_HOSTS)?.map((host) => host.toLowerCase()),
    },
    realtimePingIntervalMs: Math.max(1_000, integer('REALTIME_PING_INTERVAL_MS', 30_000, env)),
    vapidSubject: vapidSubject(env.VAPID_SUBJECT, env.PUBLIC_URL),
    initialAdmin: initialAdmin(env),
    outboundIpAllowlist: cidrList('OUTBOUND_IP_ALLOWLIST', env.OUTBOUND_IP_ALLOWLIST),
    http: {
      maxConnectionsPerIp: integer('HTTP_MAX_CONNECTIONS_PER_IP', 256, env),
      headersTimeoutMs: Math.max(1, integer('HTTP_HEADERS_TIMEOUT_MS', 10_000, env)),
      bodyTimeoutMs: Math.max(1, integer('HTTP_BODY_TIMEOUT_MS', 30_000, env)),
      uploadIdleTimeoutMs: Math.max(1, integer('HTTP_UPLOAD_IDLE_TIMEOUT_MS', 30_000, env)),
      keepAliveTimeoutMs: Math.max(1, integer('HTTP_KEEP_ALIVE_TIMEOUT_MS', 72_000, env)),
    },
    webSocketLimits: {
      perSession: Math.max(1, integer('WS_MAX_PER_SESSION', 10, env)),
      perUser: Math.max(1, integer('WS_MAX_PER_USER', 50, env)),
    },
  };
}
