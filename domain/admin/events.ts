import { z } from 'zod';

/** Who a throttle slows down: one address, one account, one address trying one account, or one device cookie. */
export const ThrottleScope = z.enum(['ip', 'account', 'ip_account', 'device']);
export type ThrottleScope = z.infer<typeof ThrottleScope>;

/** Where a sign-in was tried: the OAuth login page or the admin panel. */
export const SignInVia = z.enum(['oauth', 'admin']);
export type SignInVia = z.infer<typeof SignInVia>;

/** Events of the bounded `login-guard` stream (failed sign-ins at /oauth/login and /admin/login). */
export const LoginGuardEvent = z.discriminatedUnion('type', [
  // A wrong password or unknown account. `device`: the browser showed a valid device cookie for the account.
  z.object({
    type: z.literal('SignInFailed'),
    data: z.object({
      email: z.string(),
      ip: z.string(),
      via: SignInVia,
      reason: z.string(),
      device: z.boolean(),
      at: z.string(),
    }),
  }),
  // A throttle began: sign-ins of that scope wait until `until` (OWASP Authentication Cheat Sheet,
  // "Account lockout": slow the attacker with growing delays, keep known devices working).
  z.object({
    type: z.literal('SignInThrottled'),
    data: z.object({
      scope: ThrottleScope,
      email: z.string(),
      ip: z.string(),
      via: SignInVia,
      failures: z.number().int(),
      until: z.string(),
      at: z.string(),
    }),
  }),
]);
export type LoginGuardEvent = z.infer<typeof LoginGuardEvent>;

/** Who an old admin login limit counted (streams `admin-login-<hash>`, written before the login-guard stream). */
export const LoginSubject = z.object({ kind: z.enum(['account', 'ip']), value: z.string() });
export type LoginSubject = z.infer<typeof LoginSubject>;

/** Events of earlier versions, still in old logs (shown by the audit page, no longer written). */
export const AdminLoginEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('AdminLoginFailed'),
    data: z.object({ subject: LoginSubject, email: z.string(), ip: z.string(), reason: z.string(), at: z.string() }),
  }),
  z.object({
    type: z.literal('AdminLoginLockedOut'),
    data: z.object({ subject: LoginSubject, email: z.string(), ip: z.string(), until: z.string(), at: z.string() }),
  }),
]);
export type AdminLoginEvent = z.infer<typeof AdminLoginEvent>;
