// Throttles of the sign-in forms (/oauth/login, /admin/login): slow the attacker, not the victim
// (OWASP Authentication Cheat Sheet, "Protect against automated attacks").
// - Per address + account: 5 free failures, then waits that double (30 s … 15 min). An attacker's
//   address is slowed on that account; the real user from another address is not.
// - Per address: more than 20 accounts failed from one address (credential stuffing, made-up emails)
//   slows that address for every account; other addresses are untouched.
// - Per account: failures from more than 10 addresses slow unknown devices on that account.
// - A browser with a device cookie for the account (http/device-cookie.ts) skips those three: only its
//   own failures count, so a throttle aimed at unknown devices does not lock the real user out.
// Counters live in rate-limiter-flexible (memory, or Redis when REDIS_URL is set: instances count together).
import { createHash } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import type Koa from 'koa';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { LoginAudit } from '../app/login-guard.ts';
import type { CoreServices } from '../app/services.ts';
import type { SignInVia, ThrottleScope } from '../domain/admin/login-guard.ts';
import { normalizeEmail } from '../domain/users/index.ts';
import { issueDeviceCookie, readDeviceCookie, type Device } from './device-cookie.ts';

type Policy = { free: number; baseSeconds: number; maxSeconds: number };

export const LOGIN_THROTTLES: Record<ThrottleScope, Policy> = {
  ip_account: { free: 5, baseSeconds: 30, maxSeconds: 15 * 60 },
  device: { free: 5, baseSeconds: 30, maxSeconds: 15 * 60 },
  // Counted once per account an address fails on (a typo repeated is one), and once per address an
  // account fails from.
  ip: { free: 20, baseSeconds: 60, maxSeconds: 15 * 60 },
  account: { free: 10, baseSeconds: 60, maxSeconds: 15 * 60 },
};

/** Failures are remembered this long after the first one (and the backoff keeps growing within it). */
const WINDOW_SECONDS = 60 * 60;
const SCOPES = Object.keys(LOGIN_THROTTLES) as ThrottleScope[];

/** Seconds to wait after the n-th counted failure (0 while free): base · 2^(n − free), at most max. */
export const backoffSeconds = (policy: Policy, failures: number): number =>
  failures < policy.free ? 0 : Math.min(policy.maxSeconds, policy.baseSeconds * 2 ** (failures - policy.free));

/** An IPv6 client usually holds a whole /64: count it as one address, as an IPv4 one. */
export const addressKey = (ip: string): string => {
  try {
    const parsed = ipaddr.process(ip);
    if (parsed.kind() === 'ipv4') return parsed.toString();
    return `${(parsed as ipaddr.IPv6).parts.slice(0, 4).join(':')}::/64`;
  } catch {
    return ip.slice(0, 64);
  }
};

const hashed = (value: string) => createHash('sha256').update(value).digest('base64url').slice(0, 32);

/** A throttled form's answer: Retry-After in whole seconds (at least 1) and the sentence for the page. */
export const throttleNotice = (waitMs: number): { retryAfter: string; message: string } => {
  const seconds = Math.max(1, Math.ceil(waitMs / 1_000));
  const wait = seconds < 120 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`;
  return { retryAfter: String(seconds), message: `Too many sign-in attempts. Try again in ${wait}.` };
};

/** One sign-in try, from begin() to failed() or succeeded(). */
export type SignInAttempt = {
  readonly email: string;
  readonly ip: string;
  /** A device cookie of this very account. */
  readonly device: Device | undefined;
  readonly keys: Record<ThrottleScope, string>;
  /** Milliseconds to wait before trying (0: go ahead and check the password). */
  readonly waitMs: number;
};

type Deps = Pick<CoreServices, 'rateLimits' | 'log' | 'secret' | 'config' | 'users' | 'logger'>;

export class LoginGuard {
  private readonly counters = {} as Record<ThrottleScope, RateLimiterAbstract>;
  private readonly blocks = {} as Record<ThrottleScope, RateLimiterAbstract>;
  private readonly audit: LoginAudit;

  constructor(
    private readonly services: Deps,
    private readonly via: SignInVia,
  ) {
    // Named limiters are created once per process (http/rate-limit.ts): both sign-in pages share them.
    for (const scope of SCOPES) {
      this.counters[scope] = services.rateLimits.limiter(`login-failures-${scope}`, {
        points: 1_000_000,
        durationSeconds: WINDOW_SECONDS,
      });
      this.blocks[scope] = services.rateLimits.limiter(`login-wait-${scope}`, {
        points: 1,
        durationSeconds: LOGIN_THROTTLES[scope].maxSeconds,
      });
    }
    this.audit = new LoginAudit(services.log);
  }

  /** Before any password work: who is trying, and how long they must wait first. */
  async begin(ctx: Koa.Context, typedEmail: string): Promise<SignInAttempt> {
    const email = normalizeEmail(typedEmail.slice(0, 320));
    const ip = ctx.ip;
    const cookie = readDeviceCookie(ctx, this.services.config, this.services.secret);
    const device = cookie && (await this.services.users.byEmail(email))?.id === cookie.userId ? cookie : undefined;
    const address = addressKey(ip);
    const keys: Record<ThrottleScope, string> = {
      ip_account: hashed(`${address}\n${email}`),
      ip: address,
      account: hashed(email),
      device: device?.deviceId ?? '',
    };
    const waits = await Promise.all(
      this.scopesOf(device).map(async (scope) => {
        const res = await this.blocks[scope].get(keys[scope]);
        return res && res.consumedPoints > 1 ? res.msBeforeNext : 0;
      }),
    );
    return { email, ip, device, keys, waitMs: Math.max(0, ...waits) };
  }

  /** A wrong password or unknown account: counted, recorded in the login-guard stream; returns the wait now in force. */
  async failed(ctx: Koa.Context, attempt: SignInAttempt, reason = 'bad_credentials'): Promise<number> {
    const now = new Date();
    const requestId = ctx.state.requestId as string | undefined;
    const count = async (scope: ThrottleScope) =>
      (await this.counters[scope].penalty(attempt.keys[scope], 1)).consumedPoints;
    const counted: [ThrottleScope, number][] = [];
    if (attempt.device) counted.push(['device', await count('device')]);
    else {
      const failures = await count('ip_account');
      counted.push(['ip_account', failures]);
      // The first failure of this address on this account: one more account for the address, one more
      // address for the account.
      if (failures === 1) counted.push(['ip', await count('ip')], ['account', await count('account')]);
    }
    await this.audit.signInFailed(
      { email: attempt.email, ip: attempt.ip, via: this.via, reason, device: Boolean(attempt.device), at: now },
      requestId,
    );
    let waitMs = 0;
    for (const [scope, failures] of counted) {
      const seconds = backoffSeconds(LOGIN_THROTTLES[scope], failures);
      if (seconds === 0) continue;
      await this.blocks[scope].block(attempt.keys[scope], seconds);
      waitMs = Math.max(waitMs, seconds * 1_000);
      const until = new Date(now.getTime() + seconds * 1_000);
      await this.audit.signInThrottled(
        { scope, email: attempt.email, ip: attempt.ip, via: this.via, failures, until, at: now },
        requestId,
      );
      this.services.logger.warn({ scope, ip: attempt.ip, via: this.via, seconds }, 'sign-in throttled');
    }
    return waitMs;
  }

  /** The right password: this address (or device) starts afresh, and the browser becomes a known device. */
  async succeeded(ctx: Koa.Context, attempt: SignInAttempt, userId: string): Promise<void> {
    const scope: ThrottleScope = attempt.device ? 'device' : 'ip_account';
    await Promise.all([
      this.counters[scope].delete(attempt.keys[scope]),
      this.blocks[scope].delete(attempt.keys[scope]),
    ]);
    issueDeviceCookie(ctx, this.services.config, this.services.secret, userId);
  }

  private scopesOf(device: Device | undefined): ThrottleScope[] {
    return device ? ['device'] : ['ip_account', 'ip', 'account'];
  }
}
