import { DomainError, assertNever } from '../shared.ts';
import type { Role, UserEvent } from './events.ts';
import type { UserCommand, UserState } from './state.ts';

const EMAIL = /^[^\s@]+@[^\s@]+$/;

/** A service user is only that: it never also holds `user` or `admin`. */
const checkServiceRoles = (roles: readonly Role[]): void => {
  if (roles.includes('service') && roles.some((role) => role !== 'service'))
    throw new DomainError('invalid_roles', 'the service role cannot be combined with other roles');
};

export const decideUser = (command: UserCommand, state: UserState): UserEvent[] => {
  if (command.type === 'CreateUser') {
    if (state.status === 'erased')
      throw new DomainError('user_exists', `the address ${command.email} belonged to a user who was erased`);
    if (state.status !== 'absent')
      throw new DomainError('user_exists', `a user with email ${command.email} already exists`);
    if (!EMAIL.test(command.email)) throw new DomainError('invalid_email', 'email must look like name@domain');
    if (command.roles.length === 0) throw new DomainError('invalid_roles', 'a user needs at least one role');
    checkServiceRoles(command.roles);
    // A service user has no password at all; everyone else has one.
    if (command.roles.includes('service') !== (command.passwordHash === ''))
      throw new DomainError('invalid_password', 'a service user has no password; every other user has one');
    return [
      {
        type: 'UserCreated',
        data: {
          userId: command.userId,
          email: command.email,
          name: command.name,
          passwordHash: command.passwordHash,
          roles: [...new Set(command.roles)],
          createdAt: command.now.toISOString(),
        },
      },
    ];
  }
  if (state.status === 'absent') throw new DomainError('user_not_found', 'no such user');
  const at = command.now.toISOString();
  // Erasing twice changes nothing (a re-run finishes the key and session sweep); nothing else applies.
  if (state.status === 'erased') {
    if (command.type === 'EraseUser') return [];
    throw new DomainError('user_erased', 'this user was erased');
  }
  switch (command.type) {
    case 'EraseUser':
      // Disabled first, in the same append: the credentials line (user_credentials) voids every session,
      // grant and token the user had, whatever the sweep that follows reaches.
      return [
        ...(state.status === 'active' ? [{ type: 'UserDisabled' as const, data: { userId: state.userId, at } }] : []),
        { type: 'UserErased', data: { userId: state.userId, keySubjects: [...command.keySubjects], at } },
      ];
    case 'DisableUser':
      // Idempotent: disabling a disabled user changes nothing (CLI commands are safe to re-run).
      if (state.status === 'disabled') return [];
      return [
        {
          type: 'UserDisabled',
          data: { userId: state.userId, at, ...(command.reason ? { reason: command.reason } : {}) },
        },
      ];
    case 'EnableUser':
      if (state.status === 'active') return [];
      return [{ type: 'UserEnabled', data: { userId: state.userId, at } }];
    case 'ChangePassword':
      if (state.roles.includes('service'))
        throw new DomainError('service_user', 'a service user has no password and cannot sign in');
      return [{ type: 'UserPasswordChanged', data: { userId: state.userId, passwordHash: command.passwordHash, at } }];
    case 'SetRoles': {
      const roles = [...new Set(command.roles)].sort();
      if (roles.length === 0) throw new DomainError('invalid_roles', 'a user needs at least one role');
      checkServiceRoles(roles);
      // Turning a service user into a person (or back) would give a password-less account a sign-in.
      if (roles.includes('service') !== state.roles.includes('service'))
        throw new DomainError('service_user', 'the service role cannot be added to or removed from a user');
      if (JSON.stringify(roles) === JSON.stringify([...state.roles].sort())) return [];
      return [{ type: 'UserRolesChanged', data: { userId: state.userId, roles, at } }];
    }
    case 'VerifyEmail':
      // Idempotent; an address belongs to its user for good (the user id derives from it), so it stays verified.
      return state.emailVerified ? [] : [{ type: 'UserEmailVerified', data: { userId: state.userId, at } }];
    default:
      return assertNever(command);
  }
};
