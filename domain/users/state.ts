import type { Role } from './events.ts';

export type UserState =
  | { readonly status: 'absent' }
  | {
      readonly status: 'active' | 'disabled' | 'erased';
      readonly userId: string;
      readonly email: string;
      readonly passwordHash: string;
      readonly roles: readonly Role[];
      readonly emailVerified: boolean;
    };

export const initialUserState = (): UserState => ({ status: 'absent' });

export type UserCommand =
  | { type: 'CreateUser'; userId: string; email: string; name: string; passwordHash: string; roles: Role[]; now: Date }
  | { type: 'DisableUser'; reason?: string; now: Date }
  | { type: 'EnableUser'; now: Date }
  | { type: 'ChangePassword'; passwordHash: string; now: Date }
  | { type: 'SetRoles'; roles: Role[]; now: Date }
  | { type: 'VerifyEmail'; now: Date }
  | { type: 'EraseUser'; keySubjects: string[]; now: Date };
