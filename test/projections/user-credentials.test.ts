// user_credentials: the latest password change or disable of a user wins, whatever the order or how
// often the events are applied; an enable does not move it (nothing issued before a disable revives).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { userCredentialsProjection } from '../../projections/user-credentials.ts';
import { applyStatements, ddl, liveTables, statementsFor } from '../../projections/sql.ts';
import { anyDatabase, type TestDatabase } from '../support/databases.ts';

const test = suite<{ database: TestDatabase }>('projections: user_credentials');
test.before(async (context) => {
  context.database = await anyDatabase();
  for (const statement of ddl(userCredentialsProjection, liveTables(userCredentialsProjection)))
    await context.database.db.query(statement);
});
test.after(async ({ database }) => database.dispose());

const userId = '11111111-1111-5111-8111-111111111111';
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

test('latest instant wins, applied twice and out of order; enable and role changes leave it', async ({ database }) => {
  const events = [
    recorded('UserCreated', {
      email: 'a@b.c',
      name: 'a',
      passwordHash: 'h',
      roles: ['user'],
      createdAt: '2026-01-01T00:00:00.000Z',
    }),
    recorded('UserPasswordChanged', { passwordHash: 'h2', at: '2026-01-02T00:00:00.000Z' }),
    recorded('UserDisabled', { at: '2026-01-03T00:00:00.000Z' }),
    recorded('UserEnabled', { at: '2026-01-04T00:00:00.000Z' }),
    recorded('UserRolesChanged', { roles: ['admin', 'user'], at: '2026-01-05T00:00:00.000Z' }),
  ];
  const tables = liveTables(userCredentialsProjection);
  for (const batch of [events, [...events].reverse(), events])
    await applyStatements(database.db, statementsFor(userCredentialsProjection, batch, tables));
  const { rows } = await database.db.query<{ user_id: string; sessions_valid_after: Date }>(
    'SELECT user_id, sessions_valid_after FROM user_credentials',
  );
  assert.equal(
    rows.map((row) => [row.user_id, row.sessions_valid_after.toISOString()]),
    [[userId, '2026-01-03T00:00:00.000Z']],
  );
});

test.run();
