// user_credentials: the latest password change or disable of a user wins, whatever the order or how
// often the events are applied; an enable does not move it (nothing issued before a disable revives).
import * as assert from 'uvu/assert';
import { UserEvent, userStream } from '../../domain/users/index.ts';
import { userCredentialsProjection } from '../../projections/user-credentials.ts';
import { applyTwice, projectionSuite, recorder } from '../support/projections.ts';

const test = projectionSuite('projections: user_credentials');

const userId = '11111111-1111-5111-8111-111111111111';
const record = recorder(UserEvent);

test('latest instant wins, applied twice and out of order; enable and role changes leave it', async ({ database }) => {
  const stream = userStream(userId);
  const events = [
    record(stream, {
      type: 'UserCreated',
      data: {
        userId,
        email: 'a@b.c',
        name: 'a',
        passwordHash: 'h',
        roles: ['user'],
        createdAt: '2026-01-01T00:00:00.000Z',
      },
    }),
    record(stream, {
      type: 'UserPasswordChanged',
      data: { userId, passwordHash: 'h2', at: '2026-01-02T00:00:00.000Z' },
    }),
    record(stream, { type: 'UserDisabled', data: { userId, at: '2026-01-03T00:00:00.000Z' } }),
    record(stream, { type: 'UserEnabled', data: { userId, at: '2026-01-04T00:00:00.000Z' } }),
    record(stream, {
      type: 'UserRolesChanged',
      data: { userId, roles: ['admin', 'user'], at: '2026-01-05T00:00:00.000Z' },
    }),
  ];
  const orderBy = { user_credentials: 'user_id' };
  const rows = await applyTwice(database.db, userCredentialsProjection, events, orderBy);
  assert.equal(await applyTwice(database.db, userCredentialsProjection, [...events].reverse(), orderBy), rows);
  assert.equal(rows, { user_credentials: [{ user_id: userId, sessions_valid_after: '2026-01-03T00:00:00.000Z' }] });
});

test.run();
