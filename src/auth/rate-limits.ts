// Rate limits on everything that can be guessed (passwords, account keys, 2FA codes,
// email tokens). Counters live in PostgreSQL, so every Parley process shares them.
import { RateLimiterDrizzle, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import { rateLimits } from '../db/schema/index.ts';
import { ApiError } from '../http/errors.ts';

export class RateLimitedError extends ApiError {
  constructor(retryAfterSeconds: number) {
    super(429, `Too many attempts; try again in ${retryAfterSeconds} s`, 'rate-limited', undefined, retryAfterSeconds);
  }
}

export class Limiter {
  private readonly limiter: RateLimiterDrizzle;

  constructor(db: Database, name: string, points: number, windowMs: number) {
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
    for (const key of keys) {
      try {
        await this.limiter.consume(key);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) throw new RateLimitedError(Math.ceil(rejection.msBeforeNext / 1000) || 1);
        throw rejection;
      }
    }
  }

  /** Forgets a key's attempts (after a success). */
  async reset(key: string): Promise<void> {
    await this.limiter.delete(key);
  }
}

export interface Limiters {
  loginPerAccount: Limiter;
  loginPerIp: Limiter;
  /** Guesses of secrets other than passwords: account keys, 2FA codes, email tokens. */
  guesses: Limiter;
}

export function createLimiters(db: Database, config: Config): Limiters {
  const { loginRateLimit: login, guessRateLimit: guess } = config;
  return {
    loginPerAccount: new Limiter(db, 'login-account', login.perAccount, login.windowMs),
    loginPerIp: new Limiter(db, 'login-ip', login.perIp, login.windowMs),
    guesses: new Limiter(db, 'guess', guess.max, guess.windowMs),
  };
}
