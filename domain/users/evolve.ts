import { ERASED } from '../personal.ts';
import { assertNever } from '../shared.ts';
import type { UserEvent } from './events.ts';
import type { UserState } from './state.ts';

export const evolveUser = (state: UserState, event: UserEvent): UserState => {
  switch (event.type) {
    case 'UserCreated':
      return {
        status: 'active',
        userId: event.data.userId,
        email: event.data.email,
        passwordHash: event.data.passwordHash,
        roles: event.data.roles,
        emailVerified: false,
      };
    case 'UserDisabled':
      return state.status === 'absent' ? state : { ...state, status: 'disabled' };
    case 'UserEnabled':
      return state.status === 'absent' ? state : { ...state, status: 'active' };
    case 'UserPasswordChanged':
      return state.status === 'absent' ? state : { ...state, passwordHash: event.data.passwordHash };
    case 'UserRolesChanged':
      return state.status === 'absent' ? state : { ...state, roles: event.data.roles };
    case 'UserEmailVerified':
      return state.status === 'absent' ? state : { ...state, emailVerified: true };
    case 'UserErased':
      return state.status === 'absent' ? state : { ...state, status: 'erased', email: ERASED, passwordHash: '' };
    default:
      return assertNever(event);
  }
};
