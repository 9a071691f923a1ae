// verified_emails: one row per verified user, whatever the order or how often the events are applied;
// other user events leave it.
import * as assert from 'uvu/assert';
import { UserEvent, userStream } from '../../domain/users/index.ts';
import { verifiedEmailsProjection } from '../../projections/verified-emails.ts';
import { applyTwice, projectionSuite, recorder } from '../support/projections.ts';

const test = projectionSuite('projections: verified_emails');

const userId = '22222222-2222-5222-8222-222222222222';
const record = recorder(UserEvent);

test('first verification kept, applied twice and out of order; other events add nothing', async ({ database }) => {
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
    record(stream, { type: 'UserEmailVerified', data: { userId, at: '2026-01-02T00:00:00.000Z' } }),
    record(stream, {
      type: 'UserPasswordChanged',
      data: { userId, passwordHash: 'h2', at: '2026-01-03T00:00:00.000Z' },
    }),
  ];
  const orderBy = { verified_emails: 'user_id' };
  const rows = await applyTwice(database.db, verifiedEmailsProjection, events, orderBy);
  assert.equal(await applyTwice(database.db, verifiedEmailsProjection, [...events].reverse(), orderBy), rows);
  assert.equal(rows, { verified_emails: [{ user_id: userId, verified_at: '2026-01-02T00:00:00.000Z' }] });
});

test.run();
