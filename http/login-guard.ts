// Throttles of the sign-in forms (/oauth/login, /admin/login): slow the attacker, not the victim
// (OWASP Authentication Cheat Sheet, "Protect against automated attacks").
// - Per address + account: 5 free tries, then waits that double (30 s … 15 min). An attacker's
//   address is slowed on that account; the real user from another address is not.
// - Per address: tries on more than 20 accounts from one address (credential stuffing, made-up emails)
//   slow that address for every account; other addresses are untouched.
// - Per account: tries from more than 10 addresses slow unknown devices on that account.
// - A browser with a device cookie for the account (http/device-cookie.ts) skips those three: only its
//   own failures count, so a throttle aimed at unknown devices does not lock the real user out.
// Tries are counted before the password is checked and given back when they were right (or refused),
// so a burst sent in parallel cannot outrun the count. Counters live in rate-limiter-flexible (memory,
// or Redis when REDIS_URL is set: instances count together).
import { createHash } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import type Koa from 'koa';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { LoginAudit } from '../app/login-guard.ts';
import type { CoreServices } from '../app/core.ts';
import type { UserRow } from '../app/users.ts';
import type { SignInVia, ThrottleScope } from '../domain/admin/login-guard.ts';
import { normalizeEmail } from '../domain/users/index.ts';
import { issueDeviceCookie, readDeviceCookie, type Device } from './device-cookie.ts';

type Policy = { free: number; baseSeconds: number; maxSeconds: number };

export const LOGIN_THROTTLES: Record<ThrottleScope, Policy> = {
  ip_account: { free: 5, baseSeconds: 30, maxSeconds: 15 * 60 },
  device: { free: 5, baseSeconds: 30, maxSeconds: 15 * 60 },
  // Counted once per account an address tries (a typo repeated is one), and once per address that tries
  // an account.
  ip: { free: 20, baseSeconds: 60, maxSeconds: 15 * 60 },
  account: { free: 10, baseSeconds: 60, maxSeconds: 15 * 60 },
};

/** Tries are remembered this long after the first one (and the backoff keeps growing within it). */
const WINDOW_SECONDS = 60 * 60;
const SCOPES = Object.keys(LOGIN_THROTTLES) as ThrottleScope[];

/** Seconds to wait after the n-th try failed (0 while free): base · 2^(n − free), at most max. */
export const backoffSeconds = (policy: Policy, failures: number): number =>
  failures < policy.free ? 0 : Math.min(policy.maxSeconds, policy.baseSeconds * 2 ** (failures - policy.free));

/** An IPv6 client usually holds a whole /64: count it as one address, as an IPv4 one. */
export const addressKey = (ip: string): string => {
  try {
    const parsed = ipaddr.process(ip);
    if (parsed.kind() === 'ipv4') return parsed.toString();
    return `${(parsed as ipaddr.IPv6).parts
      .slice(0, 4)
      .map((part) => part.toString(16))
      .join(':')}::/64`;
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

/** One scope's share of an attempt: its count including this attempt, and whether it passed a gate. */
type Counted = { scope: ThrottleScope; key: string; count: number; gated: boolean };

/** One sign-in try, from begin() to failed(), refused() or succeeded(). */
export type SignInAttempt = {
  readonly email: string;
  readonly ip: string;
  /** A device cookie of this very account. */
  readonly device: Device | undefined;
  /** Milliseconds to wait before trying (0: go ahead and check the password). */
  readonly waitMs: number;
  readonly counted: readonly Counted[];
};

/** What a sign-in form answers: the user, or a refusal to show on the form (with Retry-After when throttled). */
export type SignInResult =
  { ok: true; user: UserRow } | { ok: false; status: 401 | 403 | 429; message: string; retryAfter?: string };

type Deps = Pick<CoreServices, 'rateLimits' | 'log' | 'secret' | 'config' | 'users' | 'logger'>;

export class LoginGuard {
  /** Attempts per key in the window, counted before the password is checked (so parallel tries count too). */
  private readonly counters = {} as Record<ThrottleScope, RateLimiterAbstract>;
  /** Past the free tries, a gate of one point: armed (blocked) after a failure, then one try per wait. */
  private readonly gates = {} as Record<ThrottleScope, RateLimiterAbstract>;
  private readonly audit: LoginAudit;

  constructor(
    private readonly services: Deps,
    private readonly via: SignInVia,
  ) {
    // Named limiters are created once per process (http/rate-limit.ts): both sign-in pages share them.
    for (const scope of SCOPES) {
      this.counters[scope] = services.rateLimits.limiter(`login-attempts-${scope}`, {
        points: 1_000_000,
        durationSeconds: WINDOW_SECONDS,
      });
      this.gates[scope] = services.rateLimits.limiter(`login-gate-${scope}`, {
        points: 1,
        durationSeconds: LOGIN_THROTTLES[scope].maxSeconds,
      });
    }
    this.audit = new LoginAudit(services.log);
  }

  /**
   * The whole credential check of a sign-in form: throttles, password, audit, device cookie. With
   * `adminOnly`, the right password of a non-admin is refused (403) and counts as no try at all.
   */
  async signIn(
    ctx: Koa.Context,
    email: string,
    password: string,
    options: { adminOnly?: boolean } = {},
  ): Promise<SignInResult> {
    const attempt = await this.begin(ctx, email);
    // Refused before any password work while this browser is throttled (even with the right password).
    if (attempt.waitMs > 0) {
      const notice = throttleNotice(attempt.waitMs);
      return { ok: false, status: 429, message: notice.message, retryAfter: notice.retryAfter };
    }
    const user = email && password ? await this.services.users.authenticate(email, password) : undefined;
    if (!user) {
      await this.failed(ctx, attempt);
      return { ok: false, status: 401, message: 'Wrong email or password.' };
    }
    if (options.adminOnly && !user.roles.includes('admin')) {
      await this.refused(attempt);
      return { ok: false, status: 403, message: 'This account is not an administrator.' };
    }
    await this.succeeded(ctx, attempt, user.id);
    return { ok: true, user };
  }

  /**
   * Before any password work: counts this try in every scope it belongs to and says how long to wait
   * first. A burst sent in parallel gets the free tries and one more, not one password check each.
   */
  async begin(ctx: Koa.Context, typedEmail: string): Promise<SignInAttempt> {
    const email = normalizeEmail(typedEmail.slice(0, 320));
    const ip = ctx.ip;
    const cookie = readDeviceCookie(ctx, this.services.config, this.services.secret);
    const device = cookie && (await this.services.users.byEmail(email))?.id === cookie.userId ? cookie : undefined;
    const address = addressKey(ip);
    const counted: Counted[] = [];
    let waitMs = 0;
    const take = async (scope: ThrottleScope, key: string): Promise<Counted> => {
      const count = (await this.counters[scope].penalty(key, 1)).consumedPoints;
      const entry = { scope, key, count, gated: count > LOGIN_THROTTLES[scope].free };
      counted.push(entry);
      if (!entry.gated) return entry;
      try {
        // One point per wait: the first try after the gate opened passes, every other one waits.
        const wait = backoffSeconds(LOGIN_THROTTLES[scope], count - 1);
        await this.gates[scope].consume(key, 1, { customDuration: wait });
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        waitMs = Math.max(waitMs, rejection.msBeforeNext);
        entry.gated = false;
      }
      return entry;
    };
    if (device) await take('device', device.deviceId);
    else {
      const pair = await take('ip_account', hashed(`${address}\n${email}`));
      // The first try of this address on this account: one more account for the address, one more
      // address for the account.
      if (pair.count === 1) await Promise.all([take('ip', address), take('account', hashed(email))]);
      // Later tries are not counted there again, but still wait while those throttles are on.
      else
        for (const [scope, key] of [
          ['ip', address],
          ['account', hashed(email)],
        ] as const) {
          const res = await this.gates[scope].get(key);
          if (res && res.consumedPoints > 1) waitMs = Math.max(waitMs, res.msBeforeNext);
        }
    }
    const attempt = { email, ip, device, waitMs, counted };
    // A refused try is no try: it does not count, so waiting it out is enough.
    if (waitMs > 0) await this.refused(attempt);
    return attempt;
  }

  /** A wrong password or unknown account: recorded in the login-guard stream; arms the gates past the free tries. */
  async failed(ctx: Koa.Context, attempt: SignInAttempt, reason = 'bad_credentials'): Promise<number> {
    const now = new Date();
    const requestId = ctx.state.requestId;
    await this.audit.signInFailed(
      { email: attempt.email, ip: attempt.ip, via: this.via, reason, device: Boolean(attempt.device), at: now },
      requestId,
    );
    let waitMs = 0;
    for (const { scope, key, count } of attempt.counted) {
      const seconds = backoffSeconds(LOGIN_THROTTLES[scope], count);
      if (seconds === 0) continue;
      await this.gates[scope].block(key, seconds);
      waitMs = Math.max(waitMs, seconds * 1_000);
      const until = new Date(now.getTime() + seconds * 1_000);
      await this.audit.signInThrottled(
        { scope, email: attempt.email, ip: attempt.ip, via: this.via, failures: count, until, at: now },
        requestId,
      );
      this.services.logger.warn({ scope, ip: attempt.ip, via: this.via, seconds }, 'sign-in throttled');
    }
    return waitMs;
  }

  /** Neither a failure nor a sign-in (throttled, or a non-admin at /admin): the try counts nowhere. */
  async refused(attempt: SignInAttempt): Promise<void> {
    await Promise.all(
      attempt.counted.map(async ({ scope, key, gated }) => {
        await this.counters[scope].reward(key, 1);
        // The gate was open and this try took its one point: give it back.
        if (gated) await this.gates[scope].delete(key);
      }),
    );
  }

  /** The right password: the address (or device) starts afresh, and the browser becomes a known device. */
  async succeeded(ctx: Koa.Context, attempt: SignInAttempt, userId: string): Promise<void> {
    await Promise.all(
      attempt.counted.map(async ({ scope, key }) => {
        if (scope === 'ip_account' || scope === 'device')
          await Promise.all([this.counters[scope].delete(key), this.gates[scope].delete(key)]);
        // Address-wide and account-wide counts keep others' failures; only this try is taken back.
        else await this.counters[scope].reward(key, 1);
      }),
    );
    issueDeviceCookie(ctx, this.services.config, this.services.secret, userId);
  }
}
