// Rate limits on everything that can be guessed (passwords, account keys, 2FA codes,
// email tokens). Counters live in PostgreSQL, so every Parley process shares them.
import { RateLimiterDrizzle, RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import { rateLimits } from '../db/schema/index.ts';
import { ApiError } from '../http/errors.ts';
import { reportRefusal } from '../http/metric-events.ts';

export class RateLimitedError extends ApiError {
  constructor(retryAfterSeconds: number) {
    super(429, `Too many attempts; try again in ${retryAfterSeconds} s`, 'rate-limited', undefined, retryAfterSeconds);
  }
}

/** Counts one attempt for the key; a refusal is counted for /metrics and thrown as a 429. */
async function consumeOrRefuse(limiter: RateLimiterAbstract, name: string, key: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    reportRefusal(name);
    throw new RateLimitedError(Math.ceil(rejection.msBeforeNext / 1000) || 1);
  }
}

export class Limiter {
  private readonly limiter: RateLimiterDrizzle;

  constructor(
    db: Database,
    private readonly name: string,
    points: number,
    windowMs: number,
  ) {
    this.limiter = new RateLimiterDrizzle({
      storeClient: db,
      schema: rateLimits,
      keyPrefix: name,
      points: Math.max(points, 1),
      duration: Math.max(Math.ceil(windowMs / 1000), 1),
    });
  }

  /** Counts one attempt for each key; throws RateLimitedError when any key is over its limit. */
  async consume(...keys: string[]): Promise<void> {
    for (const key of keys) await consumeOrRefuse(this.limiter, this.name, key);
  }

  /** Forgets a key's attempts (after a success). */
  async reset(key: string): Promise<void> {
    await this.limiter.delete(key);
  }

  /** Gives back one counted attempt (one that turned out not to be a failure). */
  async refund(key: string): Promise<void> {
    await this.limiter.reward(key, 1);
  }
}

/**
 * High-volume limits per client address (identity lookups, binds): counted in this process's
 * memory, so a request costs no database write; each process allows the limit on its own.
 */
export class MemoryLimiter {
  private readonly limiter: RateLimiterMemory;

  constructor(
    private readonly name: string,
    points: number,
    windowMs: number,
  ) {
    this.limiter = new RateLimiterMemory({ keyPrefix: name, points: Math.max(points, 1), duration: Math.max(Math.ceil(windowMs / 1000), 1) });
  }

  /** Counts one request for the key; throws RateLimitedError when it is over the limit. */
  async consume(key: string): Promise<void> {
    await consumeOrRefuse(this.limiter, this.name, key);
  }
}

export interface Limiters {
  /** Failed logins per (account, client address): the attacker's address is locked, not the owner. */
  loginPerAccountAddress: Limiter;
  /** The account's ceiling over all addresses (many addresses guessing one account). */
  loginPerAccount: Limiter;
  loginPerIp: Limiter;
  /** Registrations (an argon2 hash each) per client address. */
  registerPerIp: Limiter;
  /** Guesses of secrets other than passwords: account keys, 2FA codes, email tokens. */
  guesses: Limiter;
  /** Second-factor codes mailed, per user and per requesting client address. */
  emailCodes: Limiter;
}

export function createLimiters(db: Database, config: Config): Limiters {
  const { loginRateLimit: login, guessRateLimit: guess, registerRateLimit: register } = config;
  return {
    loginPerAccountAddress: new Limiter(db, 'login-account-ip', login.perAccount, login.windowMs),
    loginPerAccount: new Limiter(db, 'login-account', login.perAccountCeiling, login.windowMs),
    loginPerIp: new Limiter(db, 'login-ip', login.perIp, login.windowMs),
    registerPerIp: new Limiter(db, 'register-ip', register.perIp, register.windowMs),
    guesses: new Limiter(db, 'guess', guess.max, guess.windowMs),
    emailCodes: new Limiter(db, 'email-code', config.emailCode.perUser, config.emailCode.windowMs),
  };
}
