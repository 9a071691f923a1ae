// users: one row per user; every change applies only over an older revision, so the events applied
// twice (or resumed from any checkpoint) leave the same rows. UserEmailVerified lives in verified_emails.
import * as assert from 'uvu/assert';
import { UserEvent, userStream } from '../../domain/users/index.ts';
import { usersProjection } from '../../projections/users.ts';
import { applyTwice, projectionSuite, recorder } from '../support/projections.ts';

const test = projectionSuite('projections: users');

const ada = '3f0b6c1e-5a2d-5e4f-9a1b-0c2d3e4f5a6b';
const robot = '7c1d2e3f-4a5b-5c6d-8e7f-9a0b1c2d3e4f';
const record = recorder(UserEvent);

test('every user event applied twice leaves the same rows', async ({ database }) => {
  const events = [
    record(userStream(ada), {
      type: 'UserCreated',
      data: {
        userId: ada,
        email: 'ada@example.com',
        name: 'Ada',
        passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$a$b',
        roles: ['user'],
        createdAt: '2026-01-01T00:00:00.000Z',
      },
    }),
    record(userStream(robot), {
      type: 'UserCreated',
      data: {
        userId: robot,
        email: 'robot@example.com',
        name: 'Robot',
        passwordHash: '',
        roles: ['service'],
        createdAt: '2026-01-01T00:00:01.000Z',
      },
    }),
    record(userStream(ada), { type: 'UserEmailVerified', data: { userId: ada, at: '2026-01-01T00:01:00.000Z' } }),
    record(userStream(ada), {
      type: 'UserPasswordChanged',
      data: { userId: ada, passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c$d', at: '2026-01-02T00:00:00.000Z' },
    }),
    record(userStream(ada), {
      type: 'UserRolesChanged',
      data: { userId: ada, roles: ['admin', 'user'], at: '2026-01-03T00:00:00.000Z' },
    }),
    record(userStream(ada), {
      type: 'UserDisabled',
      data: { userId: ada, reason: 'left', at: '2026-01-04T00:00:00.000Z' },
    }),
    record(userStream(ada), { type: 'UserEnabled', data: { userId: ada, at: '2026-01-05T00:00:00.000Z' } }),
    record(userStream(robot), { type: 'UserDisabled', data: { userId: robot, at: '2026-01-06T00:00:00.000Z' } }),
  ];
  const rows = await applyTwice(database.db, usersProjection, events, { users: 'id' });
  assert.equal(rows.users, [
    {
      id: ada,
      email: 'ada@example.com',
      name: 'Ada',
      password_hash: '$argon2id$v=19$m=19456,t=2,p=1$c$d',
      roles: ['admin', 'user'],
      status: 'active',
      created_at: '2026-01-01T00:00:00.000Z',
      updated_at: '2026-01-05T00:00:00.000Z',
      revision: '5',
    },
    {
      id: robot,
      email: 'robot@example.com',
      name: 'Robot',
      password_hash: '',
      roles: ['service'],
      status: 'disabled',
      created_at: '2026-01-01T00:00:01.000Z',
      updated_at: '2026-01-06T00:00:00.000Z',
      revision: '1',
    },
  ]);
});

test.run();
