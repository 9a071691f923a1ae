// A rebuild builds the fresh tables' secondary indexes after the load, or before the first statement over
// many rows, and swaps in tables with every index the live ones had.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../app/logger.ts';
import { eventMix } from '../../bench/event-mix.ts';
import { MemoryEventLog } from '../../eventstore/memory.ts';
import { allProjections } from '../../projections/index.ts';
import { ProjectionRunner } from '../../projections/runner.ts';
import { liveTables } from '../../projections/sql.ts';
import { anyDatabase, type TestDatabase } from '../support/databases.ts';

const test = suite<{ database: TestDatabase }>('projections: rebuild');
test.before(async (context) => {
  context.database = await anyDatabase();
});
test.after(async ({ database }) => database.dispose());

/** Index definitions per live table, with the generation suffix taken out of the names. */
const indexes = async ({ database }: { database: TestDatabase }) => {
  const all: Record<string, string[]> = {};
  for (const projection of allProjections)
    for (const table of Object.keys(liveTables(projection))) {
      const rows = await database.db.query<{ indexdef: string }>(
        'SELECT indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY indexname',
        [table],
      );
      all[table] = rows.rows.map((row) => row.indexdef.replace(/__g\d+/g, ''));
    }
  return all;
};

test('every projection rebuilt over the mix has the indexes it was set up with', async (context) => {
  const log = new MemoryEventLog();
  for (const appends of eventMix(2_000)) await log.appendMany(appends);
  const runner = new ProjectionRunner(context.database.db, log, allProjections, createLogger('silent'), {
    batchSize: 500,
  });
  await runner.setup();
  const before = await indexes(context);
  assert.ok(before.tool_calls!.length >= 3, 'tool_calls has its key and two indexes');
  const results = await runner.rebuildAll();
  assert.ok(results.every((result) => result.handled >= 2_000));
  assert.equal(await indexes(context), before);
  const calls = await context.database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM tool_calls');
  assert.ok(calls.rows[0]!.n > 500);
});

test.run();
