// Leadership alone: one instance per projection lock; a lost lock connection ends every leadership
// and lets another instance take over.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Leadership } from '../../projections/leadership.ts';
import { serverDatabase, serverUrl, type TestDatabase } from '../support/databases.ts';
import { skipSuite } from '../support/skip.ts';

const test = suite<{ database: TestDatabase }>('projections: leadership');

test.before.each(async (context) => {
  context.database = await serverDatabase();
});
test.after.each(async ({ database }) => {
  await database.dispose();
});

test('one leader per name; release hands it over; a lost connection ends all', async ({ database }) => {
  const a = new Leadership(database.db);
  const b = new Leadership(database.db);
  try {
    assert.is(await a.acquire('x'), true);
    assert.is(await a.acquire('y'), true);
    assert.is(await b.acquire('x'), false, 'x is led by a');
    await a.release('x');
    assert.is(await b.acquire('x'), true, 'a gave x up');
    await b.release('x');
    // a's lock connection dies (a server restart, a network cut): its leaderships end, the locks go.
    const lost = a.lost();
    const pid = (
      await database.db.query<{ pid: number }>(
        `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1`,
      )
    ).rows[0]!.pid;
    await database.db.query('SELECT pg_terminate_backend($1)', [pid]);
    await lost;
    // The client sees the cut before the server process has exited and dropped its locks.
    for (let tries = 0; tries < 100; tries += 1) {
      const { rows } = await database.db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
      if (rows.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.is(await b.acquire('y'), true, 'y was freed with the connection');
    // a leads again on a new connection, for what is free.
    assert.is(await a.acquire('z'), true);
    assert.is(await a.acquire('y'), false);
  } finally {
    await a.close();
    await b.close();
  }
});

if (serverUrl()) test.run();
else skipSuite('projections: leadership', 'TEST_DATABASE_URL not set');
