// The embedded database prepares named statements too (PGlite parses a statement as slowly as it runs
// it); its one backend session outlives the pg client that prepared them.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { prepared } from '../../db/database.ts';
import { embeddedDatabase } from '../support/databases.ts';

const test = suite('db: embedded PGlite and prepared statements');

test('a prepared statement still runs after the pool replaced its client', async () => {
  const { db, dispose } = await embeddedDatabase();
  try {
    const statement = prepared('SELECT $1::int + 1 AS n');
    assert.equal((await db.query(statement, [1])).rows, [{ n: 2 }]);
    // The backend session still holds the statement; a new pg client does not know it has it.
    const prepared_ = await db.query<{ count: string }>(
      `SELECT count(*)::text AS count FROM pg_prepared_statements WHERE name = $1`,
      [statement.name],
    );
    assert.equal(prepared_.rows, [{ count: '1' }]);
    const client = await db.pool.connect();
    client.release(true); // dropped, as an idle timeout or a lost connection would
    assert.equal((await db.query(statement, [41])).rows, [{ n: 42 }]);
    assert.equal((await db.transaction((tx) => tx.query(statement, [2]))).rows, [{ n: 3 }]);
  } finally {
    await dispose();
  }
});

test.run();
