// The login guard's audit trail: failed sign-ins and throttles, in one stream `login-guard` bounded by
// retention metadata ($maxCount, $maxAge), whoever the attacker claims to be. A stream per made-up email
// or per address would grow without end. The counting itself is done by rate limiters (http/login-guard.ts);
// these events only record what happened, so appends need no version check and never conflict.
import { LoginGuardEvent, type SignInVia, type ThrottleScope } from './events.ts';

export { AdminLoginEvent, LoginGuardEvent, SignInVia, ThrottleScope } from './events.ts';

export const LOGIN_GUARD_STREAM = 'login-guard';

/** The newest 10,000 events of at most 30 days: enough to investigate an attack, bounded under one. */
export const LOGIN_GUARD_RETENTION = { maxCount: 10_000, maxAgeSeconds: 30 * 86_400 } as const;

/** RFC 5321 §4.5.3.1: a path is at most 256 octets; longer input is no address and is cut. */
const MAX_EMAIL = 320;

/**
 * Text as typed by anyone, made storable: at most `max` UTF-16 units, no U+0000 and no lone surrogate
 * (PostgreSQL's jsonb refuses both, and one refused event must not fail the append).
 */
export const storableText = (value: string, max: number): string =>
  value
    .slice(0, max)
    .replace(/\0/g, '\uFFFD')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');

export type SignInFailure = { email: string; ip: string; via: SignInVia; reason: string; device: boolean; at: Date };

export const signInFailed = (failure: SignInFailure): LoginGuardEvent => ({
  type: 'SignInFailed',
  data: {
    email: storableText(failure.email.trim().toLowerCase(), MAX_EMAIL),
    ip: failure.ip,
    via: failure.via,
    reason: failure.reason,
    device: failure.device,
    at: failure.at.toISOString(),
  },
});

export type Throttle = {
  scope: ThrottleScope;
  email: string;
  ip: string;
  via: SignInVia;
  failures: number;
  until: Date;
  at: Date;
};

export const signInThrottled = (throttle: Throttle): LoginGuardEvent => ({
  type: 'SignInThrottled',
  data: {
    scope: throttle.scope,
    email: storableText(throttle.email.trim().toLowerCase(), MAX_EMAIL),
    ip: throttle.ip,
    via: throttle.via,
    failures: throttle.failures,
    until: throttle.until.toISOString(),
    at: throttle.at.toISOString(),
  },
});
