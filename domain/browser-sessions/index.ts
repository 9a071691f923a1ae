// A signed-in browser (OAuth login or admin panel). Stream `browser-session-<id>`; start and end are
// events so the audit log shows every sign-in and sign-out.
import { z } from 'zod';
import { DomainError, assertNever, type Decider } from '../shared.ts';

export const PURPOSES = ['oauth', 'admin'] as const;
/** revoked: by an admin; password_changed / user_disabled: a consequence of that user command. */
export const END_REASONS = ['logout', 'revoked', 'password_changed', 'user_disabled'] as const;
export type EndReason = (typeof END_REASONS)[number];
export type Purpose = (typeof PURPOSES)[number];

export const BrowserSessionEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('BrowserSessionStarted'),
    data: z.object({
      sessionId: z.string(),
      userId: z.string(),
      purpose: z.enum(PURPOSES),
      startedAt: z.string(),
      expiresAt: z.string(),
      ip: z.string().optional(),
      userAgent: z.string().optional(),
    }),
  }),
  z.object({
    type: z.literal('BrowserSessionEnded'),
    data: z.object({ sessionId: z.string(), at: z.string(), reason: z.enum(END_REASONS) }),
  }),
]);
export type BrowserSessionEvent = z.infer<typeof BrowserSessionEvent>;

export type BrowserSessionState =
  { status: 'none' } | { status: 'active' | 'ended'; sessionId: string; userId: string; purpose: Purpose };

export type BrowserSessionCommand =
  | {
      type: 'Start';
      sessionId: string;
      userId: string;
      purpose: Purpose;
      now: Date;
      ttlMs: number;
      ip?: string;
      userAgent?: string;
    }
  | { type: 'End'; now: Date; reason: EndReason };

export const browserSessionStream = (sessionId: string) => `browser-session-${sessionId}`;

export const browserSessionDecider: Decider<BrowserSessionCommand, BrowserSessionEvent, BrowserSessionState> = {
  initialState: () => ({ status: 'none' }),
  decide(command, state) {
    switch (command.type) {
      case 'Start':
        if (state.status !== 'none') throw new DomainError('session_exists', 'session already started');
        return [
          {
            type: 'BrowserSessionStarted',
            data: {
              sessionId: command.sessionId,
              userId: command.userId,
              purpose: command.purpose,
              startedAt: command.now.toISOString(),
              expiresAt: new Date(command.now.getTime() + command.ttlMs).toISOString(),
              ...(command.ip ? { ip: command.ip } : {}),
              ...(command.userAgent ? { userAgent: command.userAgent.slice(0, 200) } : {}),
            },
          },
        ];
      case 'End':
        if (state.status !== 'active') return [];
        return [
          {
            type: 'BrowserSessionEnded',
            data: { sessionId: state.sessionId, at: command.now.toISOString(), reason: command.reason },
          },
        ];
      default:
        return assertNever(command);
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'BrowserSessionStarted':
        return {
          status: 'active',
          sessionId: event.data.sessionId,
          userId: event.data.userId,
          purpose: event.data.purpose,
        };
      case 'BrowserSessionEnded':
        return state.status === 'none' ? state : { ...state, status: 'ended' };
      default:
        return assertNever(event);
    }
  },
  parse: (event) => BrowserSessionEvent.parse(event),
};
