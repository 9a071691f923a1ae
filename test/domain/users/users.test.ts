import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { userDecider, userIdForEmail, type UserEvent } from '../../../domain/users/index.ts';
import { specFor } from '../../support/decider.ts';

const test = suite('domain: users');
const given = specFor(userDecider);
const now = new Date('2026-01-01T00:00:00Z');
const userId = userIdForEmail('Ann@Example.com');
const created: UserEvent = {
  type: 'UserCreated',
  data: {
    userId,
    email: 'ann@example.com',
    name: 'Ann',
    passwordHash: 'h1',
    roles: ['user'],
    createdAt: now.toISOString(),
  },
};

test('the user id depends on the normalized email only, and is UUID-shaped', () => {
  assert.is(userIdForEmail(' ANN@example.com '), userId);
  assert.match(userId, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.is.not(userIdForEmail('bob@example.com'), userId);
});

test('create → UserCreated (roles deduplicated)', () => {
  given([])
    .when({
      type: 'CreateUser',
      userId,
      email: 'ann@example.com',
      name: 'Ann',
      passwordHash: 'h1',
      roles: ['user', 'user'],
      now,
    })
    .then([created]);
});

test('create twice → user_exists; bad email → invalid_email; no roles → invalid_roles', () => {
  given([created])
    .when({
      type: 'CreateUser',
      userId,
      email: 'ann@example.com',
      name: 'Ann',
      passwordHash: 'h',
      roles: ['user'],
      now,
    })
    .thenFails('user_exists');
  given([])
    .when({ type: 'CreateUser', userId, email: 'not-an-email', name: 'x', passwordHash: 'h', roles: ['user'], now })
    .thenFails('invalid_email');
  given([])
    .when({ type: 'CreateUser', userId, email: 'a@b.c', name: 'x', passwordHash: 'h', roles: [], now })
    .thenFails('invalid_roles');
});

test('disable is idempotent; enable reverses it', () => {
  const disabled: UserEvent = { type: 'UserDisabled', data: { userId, at: now.toISOString() } };
  given([created]).when({ type: 'DisableUser', now }).then([disabled]);
  given([created, disabled]).when({ type: 'DisableUser', now }).then([]);
  given([created, disabled])
    .when({ type: 'EnableUser', now })
    .then([{ type: 'UserEnabled', data: { userId, at: now.toISOString() } }]);
  given([created]).when({ type: 'EnableUser', now }).then([]);
});

test('commands on a missing user → user_not_found', () => {
  given([]).when({ type: 'DisableUser', now }).thenFails('user_not_found');
  given([]).when({ type: 'ChangePassword', passwordHash: 'x', now }).thenFails('user_not_found');
});

test('change password and roles; same roles change nothing', () => {
  given([created])
    .when({ type: 'ChangePassword', passwordHash: 'h2', now })
    .then([{ type: 'UserPasswordChanged', data: { userId, passwordHash: 'h2', at: now.toISOString() } }]);
  given([created])
    .when({ type: 'SetRoles', roles: ['user'], now })
    .then([]);
  given([created])
    .when({ type: 'SetRoles', roles: ['user', 'admin'], now })
    .then([{ type: 'UserRolesChanged', data: { userId, roles: ['admin', 'user'], at: now.toISOString() } }]);
  given([created]).when({ type: 'SetRoles', roles: [], now }).thenFails('invalid_roles');
});

test('a service user: role service alone, no password; it never gets one nor another role', () => {
  const bot = { type: 'CreateUser' as const, userId, email: 'bot@example.com', name: 'bot', now };
  const botCreated: UserEvent = {
    type: 'UserCreated',
    data: {
      userId,
      email: 'bot@example.com',
      name: 'bot',
      passwordHash: '',
      roles: ['service'],
      createdAt: now.toISOString(),
    },
  };
  given([])
    .when({ ...bot, passwordHash: '', roles: ['service'] })
    .then([botCreated]);
  given([])
    .when({ ...bot, passwordHash: 'h', roles: ['service'] })
    .thenFails('invalid_password');
  given([])
    .when({ ...bot, passwordHash: '', roles: ['user'] })
    .thenFails('invalid_password');
  given([])
    .when({ ...bot, passwordHash: '', roles: ['service', 'admin'] })
    .thenFails('invalid_roles');
  given([botCreated]).when({ type: 'ChangePassword', passwordHash: 'h', now }).thenFails('service_user');
  given([botCreated])
    .when({ type: 'SetRoles', roles: ['user'], now })
    .thenFails('service_user');
  given([botCreated])
    .when({ type: 'SetRoles', roles: ['service', 'admin'], now })
    .thenFails('invalid_roles');
  given([created])
    .when({ type: 'SetRoles', roles: ['service'], now })
    .thenFails('service_user');
});

test('evolve folds to the latest state', () => {
  const state = [created, { type: 'UserDisabled', data: { userId, at: '' } } as UserEvent].reduce(
    userDecider.evolve,
    userDecider.initialState(),
  );
  assert.is(state.status, 'disabled');
});

test('verify email → UserEmailVerified once; a re-run changes nothing; an unknown user is refused', () => {
  const verified: UserEvent = { type: 'UserEmailVerified', data: { userId, at: now.toISOString() } };
  given([created]).when({ type: 'VerifyEmail', now }).then([verified]);
  given([created, verified]).when({ type: 'VerifyEmail', now }).then([]);
  given([]).when({ type: 'VerifyEmail', now }).thenFails('user_not_found');
});

test.run();
