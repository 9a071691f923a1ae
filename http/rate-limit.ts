// The rate-limit adapter (rate-limiter-flexible): in memory per instance by default, shared through Redis
// when REDIS_URL is set so several instances count together. Exceeding one → 429 with Retry-After.
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../app/config.ts';
import type { LimitOptions, RateLimits } from '../app/rate-limits.ts';
import { HttpError } from './errors.ts';

/** The 429 every limit answers: Retry-After in whole seconds (at least 1), the wait in the message. */
export const rateLimited = (
  msBeforeNext: number,
  message: (seconds: number) => string,
  code = 'rate_limited',
): HttpError => {
  const seconds = Math.max(1, Math.ceil(msBeforeNext / 1_000));
  return new HttpError(429, code, message(seconds), true, { 'Retry-After': String(seconds) });
};

export class SharedRateLimits implements RateLimits {
  private redis: Redis | undefined;
  private readonly limiters = new Map<string, RateLimiterAbstract>();

  constructor(private readonly config: Config) {
    if (config.redisUrl) {
      this.redis = new Redis(config.redisUrl, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        lazyConnect: false,
      });
      // A Redis outage must not take the server down: insurance limiters fall back to memory.
      this.redis.on('error', () => undefined);
    }
  }

  /** Resolves once Redis is connected (or at once without Redis); false when it did not connect in time. */
  async ready(timeoutMs = 2_000): Promise<boolean> {
    const redis = this.redis;
    if (!redis || redis.status === 'ready') return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** The limiter called `name` (created once). */
  limiter(name: string, options: LimitOptions): RateLimiterAbstract {
    let limiter = this.limiters.get(name);
    if (!limiter) {
      const common = {
        keyPrefix: `rmcp:${name}`,
        points: options.points,
        duration: options.durationSeconds,
        blockDuration: options.blockSeconds ?? 0,
      };
      limiter = this.redis
        ? new RateLimiterRedis({ ...common, storeClient: this.redis, insuranceLimiter: new RateLimiterMemory(common) })
        : new RateLimiterMemory(common);
      this.limiters.set(name, limiter);
    }
    return limiter;
  }

  /** Counts one hit for `key`; throws 429 `rate_limited` with Retry-After when over the limit. */
  async consume(name: string, options: LimitOptions, key: string, points = 1): Promise<void> {
    try {
      await this.limiter(name, options).consume(key, points);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes)
        throw rateLimited(rejection.msBeforeNext, (seconds) => `too many requests; retry in ${seconds} s`);
      throw rejection;
    }
  }

  /** Forgets `key` (e.g. a successful login clears its failure count). */
  async reset(name: string, options: LimitOptions, key: string): Promise<void> {
    await this.limiter(name, options).delete(key);
  }

  async close(): Promise<void> {
    this.redis?.disconnect();
  }
}
