// The rate-limit port every area is given: named limiters, in memory per instance or shared by all
// instances. The adapter (rate-limiter-flexible, Redis when REDIS_URL is set) is http/rate-limit.ts.
import type { RateLimiterAbstract } from 'rate-limiter-flexible';

export type LimitOptions = { points: number; durationSeconds: number; blockSeconds?: number };

export interface RateLimits {
  /** Resolves once the shared store is connected (at once without one); false when it did not connect in time. */
  ready(timeoutMs?: number): Promise<boolean>;
  /** The limiter called `name` (created once). */
  limiter(name: string, options: LimitOptions): RateLimiterAbstract;
  /** Counts one hit for `key`; throws a 429 `rate_limited` with Retry-After when over the limit. */
  consume(name: string, options: LimitOptions, key: string, points?: number): Promise<void>;
  /** Forgets `key` (e.g. a successful login clears its failure count). */
  reset(name: string, options: LimitOptions, key: string): Promise<void>;
  close(): Promise<void>;
}
