// Rate limits of the oauth area (rate-limiter-flexible), in memory or shared through Redis when
// REDIS_URL is set (http/rate-limit.ts), so several instances count together.
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { rateLimited, type RateLimits } from '../rate-limit.ts';
import type Koa from 'koa';

const tooMany = (res: RateLimiterRes, what: string) =>
  rateLimited(res.msBeforeNext, (seconds) => `too many ${what}; try again in ${seconds} s`);

export class OAuthRateLimits {
  // (Sign-in failures are throttled by http/login-guard.ts, shared with the admin panel.)
  private readonly registrationsPerIp: RateLimiterAbstract;

  constructor(limits: RateLimits) {
    this.registrationsPerIp = limits.limiter('oauth-register-ip', { points: 20, durationSeconds: 60 });
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
