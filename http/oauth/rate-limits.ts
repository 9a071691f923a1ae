// Rate limits of the oauth area (rate-limiter-flexible), in memory or shared through Redis when
// REDIS_URL is set (http/rate-limit.ts), so several instances count together.
import { createHash } from 'node:crypto';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { addressKey } from '../login-guard.ts';
import type { RateLimits } from '../../app/rate-limits.ts';
import { rateLimited } from '../rate-limit.ts';
import type Koa from 'koa';

const tooMany = (res: RateLimiterRes, what: string) =>
  rateLimited(res.msBeforeNext, (seconds) => `too many ${what}; try again in ${seconds} s`);

/**
 * Failed client authentication (RFC 6819 §4.3.5, §5.1.4.2.3: lock out online secret guessing), per client_id and
 * address: `free` failures within `windowSeconds`, then every request of that pair waits `blockSeconds`,
 * even with the right secret. Another address is untouched, so an attacker cannot lock a real client out.
 */
export const CLIENT_AUTH_THROTTLE = { free: 10, windowSeconds: 600, blockSeconds: 600 };

/** Throttle keys kept made (address and client_id pairs), and the longest client_id kept. */
const MAX_KEPT_KEYS = 4_096;
const MAX_KEPT_CLIENT_ID = 512;

/** The throttle around one client authentication: check(), then failed() when the credentials were bad. */
export type ClientAuthThrottle = {
  /** 429 with Retry-After while this client_id is blocked for this address. */
  check(ip: string, clientId: string): Promise<void>;
  /** Counts a failure; true when it was the one that started a block (worth one log line). */
  failed(ip: string, clientId: string): Promise<boolean>;
};

export class OAuthRateLimits {
  // (Sign-in failures are throttled by http/login-guard.ts, shared with the admin panel.)
  private readonly registrationsPerIp: RateLimiterAbstract;
  private readonly clientAuthFailures: RateLimiterAbstract;

  constructor(limits: RateLimits) {
    this.registrationsPerIp = limits.limiter('oauth-register-ip', { points: 20, durationSeconds: 60 });
    this.clientAuthFailures = limits.limiter('oauth-client-auth-failures', {
      points: CLIENT_AUTH_THROTTLE.free,
      durationSeconds: CLIENT_AUTH_THROTTLE.windowSeconds,
    });
  }

  /**
   * Failures are counted after the check, not before it: a busy client sending many requests in
   * parallel from one address is never slowed by its own successes. A parallel burst of bad secrets
   * can pass the check together, but only within the per-address request limit (backChannel).
   */
  clientAuthentication(): ClientAuthThrottle {
    const limiter = this.clientAuthFailures;
    // Hashed: a client_id may be a long URL (metadata documents), and keys go to Redis.
    const keyFor = (ip: string, clientId: string) =>
      `${addressKey(ip)} ${createHash('sha256').update(clientId).digest('base64url').slice(0, 32)}`;
    // Made for every authentication (again for a failure), the same for every request of a busy client:
    // an address parse and a hash each time. Kept for the pairs seen last (bounded, so a stranger
    // inventing client_ids only empties it).
    const known = new Map<string, string>();
    const keyOf = (ip: string, clientId: string) => {
      const pair = `${ip} ${clientId}`;
      let key = known.get(pair);
      if (key === undefined) {
        key = keyFor(ip, clientId);
        if (clientId.length <= MAX_KEPT_CLIENT_ID) {
          if (known.size >= MAX_KEPT_KEYS) known.clear();
          known.set(pair, key);
        }
      }
      return key;
    };
    return {
      async check(ip, clientId) {
        const res = await limiter.get(keyOf(ip, clientId));
        if (res && res.consumedPoints >= CLIENT_AUTH_THROTTLE.free)
          throw tooMany(res, 'failed client authentications for this client from this address');
      },
      async failed(ip, clientId) {
        const key = keyOf(ip, clientId);
        const res = await limiter.penalty(key, 1);
        if (res.consumedPoints < CLIENT_AUTH_THROTTLE.free) return false;
        await limiter.block(key, CLIENT_AUTH_THROTTLE.blockSeconds);
        return res.consumedPoints === CLIENT_AUTH_THROTTLE.free;
      },
    };
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
        const clientId = ctx.state.client?.clientId;
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
