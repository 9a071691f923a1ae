import { z } from 'zod';

/** Who a login limit counts: one account (normalized email) or one client IP. */
export const LoginSubject = z.object({ kind: z.enum(['account', 'ip']), value: z.string() });
export type LoginSubject = z.infer<typeof LoginSubject>;

export const AdminLoginEvent = z.discriminatedUnion('type', [
  // A wrong password (or unknown account, or a non-admin) at /admin/login.
  z.object({
    type: z.literal('AdminLoginFailed'),
    data: z.object({ subject: LoginSubject, email: z.string(), ip: z.string(), reason: z.string(), at: z.string() }),
  }),
  // Too many failures: logins for the subject are refused until `until` (OWASP authentication cheat sheet, "Account lockout").
  z.object({
    type: z.literal('AdminLoginLockedOut'),
    data: z.object({ subject: LoginSubject, email: z.string(), ip: z.string(), until: z.string(), at: z.string() }),
  }),
]);
export type AdminLoginEvent = z.infer<typeof AdminLoginEvent>;
