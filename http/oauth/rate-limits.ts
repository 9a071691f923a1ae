// Rate limits of the oauth area (rate-limiter-flexible), in memory or shared through Redis when
// REDIS_URL is set (http/rate-limit.ts), so several instances count together.
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { rateLimited, type RateLimits } from '../rate-limit.ts';
import type Koa from 'koa';
import { normalizeEmail } from '../../domain/users/index.ts';

const tooMany = (res: RateLimiterRes, what: string) =>
  rateLimited(res.msBeforeNext, (seconds) => `too many ${what}; try again in ${seconds} s`);

export class OAuthRateLimits {
  // OWASP authentication cheat sheet: lock an account's logins after a few failures, and an address after more.
  private readonly failuresPerAccount: RateLimiterAbstract;
  private readonly failuresPerIp: RateLimiterAbstract;
  private readonly registrationsPerIp: RateLimiterAbstract;

  constructor(limits: RateLimits) {
    this.failuresPerAccount = limits.limiter('oauth-login-account', { points: 5, durationSeconds: 15 * 60 });
    this.failuresPerIp = limits.limiter('oauth-login-ip', { points: 20, durationSeconds: 15 * 60 });
    this.registrationsPerIp = limits.limiter('oauth-register-ip', { points: 20, durationSeconds: 60 });
  }

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

  /** Back-channel requests (token, revoke, introspect): per address, then per authenticated client. */
  backChannel(limits: RateLimits, perMinute: number): { perIp: Koa.Middleware; perClient: Koa.Middleware } {
    const options = { points: perMinute, durationSeconds: 60 };
    return {
      perIp: async (ctx, next) => {
        await limits.consume('oauth-ip', { points: perMinute * 5, durationSeconds: 60 }, ctx.ip);
        await next();
      },
      perClient: async (ctx, next) => {
        const clientId = (ctx.state.client as { clientId?: string } | undefined)?.clientId;
        if (clientId) await limits.consume('oauth-client', options, clientId);
        await next();
      },
    };
  }

  /**
   * /oauth/authorize per address: anyone may call it, and a URL client_id makes the server fetch a
   * document from a host the caller chose.
   */
  authorize(limits: RateLimits, perMinute: number): Koa.Middleware {
    return async (ctx, next) => {
      await limits.consume('oauth-authorize-ip', { points: perMinute, durationSeconds: 60 }, ctx.ip);
      await next();
    };
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
