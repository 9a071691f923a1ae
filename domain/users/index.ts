// The user aggregate. Stream per user: `user-<id>`, where the id is derived from the normalized email,
// so "one user per email" is enforced by the event log itself (CreateUser appends with no_stream).
import { createHash } from 'node:crypto';
import type { Decider } from '../shared.ts';
import { decideUser } from './decide.ts';
import { UserEvent } from './events.ts';
import { evolveUser } from './evolve.ts';
import { initialUserState, type UserCommand, type UserState } from './state.ts';

export { Role, ROLES, UserEvent } from './events.ts';
export type { UserCommand, UserState } from './state.ts';

export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

/** A stable UUID-shaped id for an email (name-based, like UUID v5 but SHA-256). */
export const userIdForEmail = (email: string): string => {
  const hex = createHash('sha256')
    .update(`remotemcp:user:${normalizeEmail(email)}`)
    .digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
};

export const userStream = (userId: string): string => `user-${userId}`;

export const userDecider: Decider<UserCommand, UserEvent, UserState> = {
  initialState: initialUserState,
  decide: decideUser,
  evolve: evolveUser,
  parse: (event) => UserEvent.parse(event),
};
