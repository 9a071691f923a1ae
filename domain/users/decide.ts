import { DomainError, assertNever } from '../shared.ts';
import type { UserEvent } from './events.ts';
import type { UserCommand, UserState } from './state.ts';

const EMAIL = /^[^\s@]+@[^\s@]+$/;

export const decideUser = (command: UserCommand, state: UserState): UserEvent[] => {
  if (command.type === 'CreateUser') {
    if (state.status !== 'absent')
      throw new DomainError('user_exists', `a user with email ${command.email} already exists`);
    if (!EMAIL.test(command.email)) throw new DomainError('invalid_email', 'email must look like name@domain');
    if (command.roles.length === 0) throw new DomainError('invalid_roles', 'a user needs at least one role');
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
  switch (command.type) {
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
      return [{ type: 'UserPasswordChanged', data: { userId: state.userId, passwordHash: command.passwordHash, at } }];
    case 'SetRoles': {
      const roles = [...new Set(command.roles)].sort();
      if (roles.length === 0) throw new DomainError('invalid_roles', 'a user needs at least one role');
      if (JSON.stringify(roles) === JSON.stringify([...state.roles].sort())) return [];
      return [{ type: 'UserRolesChanged', data: { userId: state.userId, roles, at } }];
    }
    default:
      return assertNever(command);
  }
};
