// The admin login guard aggregate: failed logins and lockouts of one subject (an account or an IP).
// Stream per subject: `admin-login-<sha256(kind:value)>`. The counting itself is done by a rate limiter
// (http/admin/auth.ts); this aggregate records what happened so the audit log shows it, and makes a
// lockout idempotent (one event per lockout window even when many requests hit the limit at once).
import { createHash } from 'node:crypto';
import { assertNever, type Decider } from '../shared.ts';
import { AdminLoginEvent, type LoginSubject } from './events.ts';

export { AdminLoginEvent, LoginSubject } from './events.ts';

export type LoginGuardState = { readonly failures: number; readonly lockedUntil: string | undefined };

export type LoginGuardCommand =
  | { type: 'RecordLoginFailure'; subject: LoginSubject; email: string; ip: string; reason: string; now: Date }
  | { type: 'LockOut'; subject: LoginSubject; email: string; ip: string; until: Date; now: Date };

export const loginGuardStream = (subject: LoginSubject): string =>
  `admin-login-${createHash('sha256').update(`${subject.kind}:${subject.value}`).digest('hex').slice(0, 32)}`;

export const decideLoginGuard = (command: LoginGuardCommand, state: LoginGuardState): AdminLoginEvent[] => {
  const at = command.now.toISOString();
  switch (command.type) {
    case 'RecordLoginFailure':
      return [
        {
          type: 'AdminLoginFailed',
          data: { subject: command.subject, email: command.email, ip: command.ip, reason: command.reason, at },
        },
      ];
    case 'LockOut':
      // Already locked for at least as long: nothing new happened.
      if (state.lockedUntil && state.lockedUntil >= command.until.toISOString()) return [];
      return [
        {
          type: 'AdminLoginLockedOut',
          data: {
            subject: command.subject,
            email: command.email,
            ip: command.ip,
            until: command.until.toISOString(),
            at,
          },
        },
      ];
    default:
      return assertNever(command);
  }
};

export const evolveLoginGuard = (state: LoginGuardState, event: AdminLoginEvent): LoginGuardState => {
  switch (event.type) {
    case 'AdminLoginFailed':
      return { ...state, failures: state.failures + 1 };
    case 'AdminLoginLockedOut':
      return { ...state, lockedUntil: event.data.until };
    default:
      return assertNever(event);
  }
};

export const loginGuardDecider: Decider<LoginGuardCommand, AdminLoginEvent, LoginGuardState> = {
  initialState: () => ({ failures: 0, lockedUntil: undefined }),
  decide: decideLoginGuard,
  evolve: evolveLoginGuard,
  parse: (event) => AdminLoginEvent.parse(event),
};
