// verified_emails: one row per verified user, whatever the order or how often the events are applied;
// other user events leave it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { verifiedEmailsProjection } from '../../projections/verified-emails.ts';
import { applyStatements, ddl, liveTables, statementsFor } from '../../projections/sql.ts';
import { anyDatabase, type TestDatabase } from '../support/databases.ts';

const test = suite<{ database: TestDatabase }>('projections: verified_emails');
test.before(async (context) => {
  context.database = await anyDatabase();
  for (const statement of ddl(verifiedEmailsProjection, liveTables(verifiedEmailsProjection)))
    await context.database.db.query(statement);
});
test.after(async ({ database }) => database.dispose());

const userId = '22222222-2222-5222-8222-222222222222';
let revision = 0n;
const recorded = (type: string, data: Record<string, unknown>): RecordedEvent => ({
  id: String(revision),
  stream: `user-${userId}`,
  revision: revision++,
  position: { commit: revision, prepare: revision },
  type,
  data: { userId, ...data },
  metadata: {},
  createdAt: new Date('2026-01-01T00:00:00Z'),
});

test('first verification kept, applied twice and out of order; other events add nothing', async ({ database }) => {
  const events = [
    recorded('UserCreated', {
      email: 'a@b.c',
      name: 'a',
      passwordHash: 'h',
      roles: ['user'],
      createdAt: '2026-01-01T00:00:00.000Z',
    }),
    recorded('UserEmailVerified', { at: '2026-01-02T00:00:00.000Z' }),
    recorded('UserPasswordChanged', { passwordHash: 'h2', at: '2026-01-03T00:00:00.000Z' }),
  ];
  const tables = liveTables(verifiedEmailsProjection);
  for (const batch of [events, [...events].reverse(), events])
    await applyStatements(database.db, statementsFor(verifiedEmailsProjection, batch, tables));
  const { rows } = await database.db.query<{ user_id: string; verified_at: Date }>(
    'SELECT user_id, verified_at FROM verified_emails',
  );
  assert.equal(
    rows.map((row) => [row.user_id, row.verified_at.toISOString()]),
    [[userId, '2026-01-02T00:00:00.000Z']],
  );
});

test.run();
