// In-memory rate limits of the oauth area (rate-limiter-flexible). Per instance: with several instances
// the effective limit is multiplied by their number (a shared store via REDIS_URL is future work).
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type Koa from 'koa';
import { normalizeEmail } from '../../domain/users/index.ts';
import { HttpError } from '../errors.ts';

const tooMany = (res: RateLimiterRes, what: string) =>
  new HttpError(429, 'rate_limited', `too many ${what}; try again in ${Math.ceil(res.msBeforeNext / 1_000)} s`, true, { 'Retry-After': String(Math.ceil(res.msBeforeNext / 1_000)) });

export class OAuthRateLimits {
  // OWASP authentication cheat sheet: lock an account's logins after a few failures, and an address after more.
  private readonly failuresPerAccount = new RateLimiterMemory({ keyPrefix: 'login-account', points: 5, duration: 15 * 60 });
  private readonly failuresPerIp = new RateLimiterMemory({ keyPrefix: 'login-ip', points: 20, duration: 15 * 60 });
  private readonly registrationsPerIp = new RateLimiterMemory({ keyPrefix: 'register-ip', points: 20, duration: 60 });

  /** Refuses a login attempt (429) while the account or the address is locked out. */
  async checkLogin(email: string, ip: string): Promise<void> {
    for (const [limiter, key, what] of [
      [this.failuresPerAccount, normalizeEmail(email), 'failed sign-ins for this account'],
      [this.failuresPerIp, ip, 'failed sign-ins from this address'],
    ] as const) {
      const res = await limiter.get(key);
      if (res && res.consumedPoints >= limiter.points) throw tooMany(res, what);
    }
  }

  async loginFailed(email: string, ip: string): Promise<void> {
    await Promise.all([this.failuresPerAccount.penalty(normalizeEmail(email), 1), this.failuresPerIp.penalty(ip, 1)]);
  }

  async loginSucceeded(email: string): Promise<void> {
    await this.failuresPerAccount.delete(normalizeEmail(email));
  }

  /** RFC 7591 §5 suggests rate limiting open registration: per address. */
  registration(): Koa.Middleware {
    return async (ctx, next) => {
      try {
        await this.registrationsPerIp.consume(ctx.ip);
      } catch (error) {
        if (error instanceof RateLimiterRes) throw tooMany(error, 'registrations from this address');
        throw error;
      }
      await next();
    };
  }
}
