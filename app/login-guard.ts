// Writes the login guard's audit events (domain/admin/login-guard.ts) to the one bounded `login-guard`
// stream. Both sign-in pages (/oauth/login, /admin/login) record through here; nothing about a failed
// sign-in goes to an OAuth grant's stream or to a stream named after what the caller typed.
import type { EventLog } from '../eventstore/port.ts';
import {
  LOGIN_GUARD_RETENTION,
  LOGIN_GUARD_STREAM,
  signInFailed,
  signInThrottled,
  type LoginGuardEvent,
  type SignInFailure,
  type Throttle,
} from '../domain/admin/login-guard.ts';

const ACTOR = { type: 'system', id: 'login-guard' } as const;

export class LoginAudit {
  // Set once per process before the first append (an upsert, so several instances may all do it).
  private retention: Promise<void> | undefined;

  constructor(private readonly log: EventLog) {}

  private async append(event: LoginGuardEvent, requestId: string | undefined): Promise<void> {
    this.retention ??= this.log.setStreamMetadata(LOGIN_GUARD_STREAM, LOGIN_GUARD_RETENTION).catch((error) => {
      this.retention = undefined;
      throw error;
    });
    await this.retention;
    await this.log.append(
      LOGIN_GUARD_STREAM,
      [{ ...event, metadata: { actor: ACTOR, ...(requestId ? { requestId } : {}) } }],
      { expectedVersion: 'any' },
    );
  }

  /** "Sign-in failed": a wrong password or an unknown account at /oauth/login or /admin/login. */
  signInFailed(failure: SignInFailure, requestId?: string): Promise<void> {
    return this.append(signInFailed(failure), requestId);
  }

  /** A throttle began for one scope (ip, account, ip_account, device). */
  signInThrottled(throttle: Throttle, requestId?: string): Promise<void> {
    return this.append(signInThrottled(throttle), requestId);
  }
}
