// How a projection batch becomes SQL text: `rows` statements with the same sql merge into one multi-row
// INSERT, with the same rows in the same order as one statement each.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  applyStatements,
  generationTables,
  statementsFor,
  toSql,
  TypedPage,
  type Statement,
} from '../../projections/sql.ts';
import { allProjections } from '../../projections/index.ts';
import { eventMix } from '../../bench/event-mix.ts';
import { MemoryEventLog } from '../../eventstore/memory.ts';
import { anyDatabase, type TestDatabase } from '../support/databases.ts';

const test = suite<{ database: TestDatabase }>('projections: statement batches');

test.before(async (context) => {
  context.database = await anyDatabase();
  await context.database.db.query('CREATE TABLE calls (id int PRIMARY KEY, note text, n int)');
});
test.after(async ({ database }) => database.dispose());

const INSERT = 'INSERT INTO calls (id, note, n) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING';
const row = (id: number, note: string | null, n = 0): Statement => ({ sql: INSERT, params: [id, note, n], rows: true });
const other: Statement = { sql: 'UPDATE calls SET n = n + 1 WHERE id = $1', params: [1] };

test('runs of rows statements with the same sql become one INSERT; anything between them splits the run', () => {
  const texts = toSql([row(1, 'a'), row(2, "it's"), other, row(3, null), row(4, 'd')]);
  assert.equal(texts, [
    "INSERT INTO calls (id, note, n) VALUES ('1', 'a', '0'),\n('2', 'it''s', '0') ON CONFLICT (id) DO NOTHING",
    "UPDATE calls SET n = n + 1 WHERE id = '1'",
    "INSERT INTO calls (id, note, n) VALUES ('3', NULL, '0'),\n('4', 'd', '0') ON CONFLICT (id) DO NOTHING",
  ]);
  // Without the flag nothing merges.
  assert.is(
    toSql([
      { sql: INSERT, params: [1, 'a', 0] },
      { sql: INSERT, params: [2, 'b', 0] },
    ]).length,
    2,
  );
});

const TAG = 'INSERT INTO tags (id, tag) VALUES ($1, $2) ON CONFLICT (id, tag) DO NOTHING';
const tag = (id: number, name: string): Statement => ({ sql: TAG, params: [id, name], rows: true });

test('a run of rows statements into different tables is one INSERT per table, rows in order; a shared table merges neighbours only', () => {
  // An event's row in two tables, for each event of a batch.
  assert.equal(toSql([row(1, 'a'), tag(1, 'x'), row(2, 'b'), tag(2, 'y'), other, row(3, 'c')]), [
    "INSERT INTO calls (id, note, n) VALUES ('1', 'a', '0'),\n('2', 'b', '0') ON CONFLICT (id) DO NOTHING",
    "INSERT INTO tags (id, tag) VALUES ('1', 'x'),\n('2', 'y') ON CONFLICT (id, tag) DO NOTHING",
    "UPDATE calls SET n = n + 1 WHERE id = '1'",
    "INSERT INTO calls (id, note, n) VALUES ('3', 'c', '0') ON CONFLICT (id) DO NOTHING",
  ]);
  // Two sqls into one table: which row wins a conflict depends on the order, so nothing moves.
  const noteFirst = 'INSERT INTO calls (id, note) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING';
  assert.equal(toSql([row(5, 'a'), { sql: noteFirst, params: [5, 'b'], rows: true }, row(6, 'c')]), [
    "INSERT INTO calls (id, note, n) VALUES ('5', 'a', '0') ON CONFLICT (id) DO NOTHING",
    "INSERT INTO calls (id, note) VALUES ('5', 'b') ON CONFLICT (id) DO NOTHING",
    "INSERT INTO calls (id, note, n) VALUES ('6', 'c', '0') ON CONFLICT (id) DO NOTHING",
  ]);
});

test('rows regrouped by table leave the same tables as the statements one by one', async ({ database }) => {
  const { db } = database;
  await db.query('CREATE TABLE tags (id int, tag text, PRIMARY KEY (id, tag))');
  const batch = [row(20, 'a', 1), tag(20, 'x'), row(21, 'b', 2), tag(20, 'x'), row(20, 'again', 3), tag(21, 'y')];
  const read = async () => ({
    calls: (await db.query('SELECT id, note, n FROM calls WHERE id >= 20 ORDER BY id')).rows,
    tags: (await db.query('SELECT id, tag FROM tags ORDER BY id, tag')).rows,
  });
  await applyStatements(db, batch);
  const merged = await read();
  assert.equal(merged.calls, [
    { id: 20, note: 'a', n: 1 },
    { id: 21, note: 'b', n: 2 },
  ]);
  assert.equal(merged.tags, [
    { id: 20, tag: 'x' },
    { id: 21, tag: 'y' },
  ]);
  await db.query('DELETE FROM calls WHERE id >= 20; DELETE FROM tags');
  for (const statement of batch) await applyStatements(db, [{ sql: statement.sql, params: statement.params! }]);
  assert.equal(await read(), merged);
  await db.query('DELETE FROM calls WHERE id >= 20');
});

test('only INSERT … VALUES (…) ON CONFLICT … DO NOTHING may be marked rows (DO UPDATE cannot touch a row twice in one statement)', () => {
  for (const sql of [
    'INSERT INTO calls (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET n = 1',
    'INSERT INTO calls (id) VALUES ($1)',
    'UPDATE calls SET n = $1',
  ]) {
    assert.throws(() => toSql([{ sql, params: [1], rows: true }]), /a rows statement must be/);
  }
});

test('a merged INSERT leaves the same rows as one statement each, duplicates included; applied twice, the same again', async ({
  database,
}) => {
  const batch = [row(10, 'first', 1), row(11, 'x', 2), row(10, 'duplicate', 3), row(12, null, 4)];
  await applyStatements(database.db, batch);
  const merged = (await database.db.query('SELECT id, note, n FROM calls WHERE id >= 10 ORDER BY id')).rows;
  assert.equal(merged, [
    { id: 10, note: 'first', n: 1 },
    { id: 11, note: 'x', n: 2 },
    { id: 12, note: null, n: 4 },
  ]);
  await applyStatements(database.db, batch);
  assert.equal((await database.db.query('SELECT id, note, n FROM calls WHERE id >= 10 ORDER BY id')).rows, merged);
  // The same statements one by one give the same table.
  await database.db.query('DELETE FROM calls');
  for (const statement of batch)
    await applyStatements(database.db, [{ sql: statement.sql, params: statement.params! }]);
  assert.equal((await database.db.query('SELECT id, note, n FROM calls WHERE id >= 10 ORDER BY id')).rows, merged);
});

test('text a read model cannot store (U+0000, unpaired surrogates) is written with U+FFFD, in text, arrays and jsonb', async ({
  database,
}) => {
  const { db } = database;
  await db.query('CREATE TABLE odd (id int PRIMARY KEY, note text, tags text[], doc jsonb)');
  // As from an EventStoreDB log, or one written before events were checked: the projection must not stop.
  await applyStatements(db, [
    {
      sql: 'INSERT INTO odd (id, note, tags, doc) VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (id) DO NOTHING',
      params: [1, 'a\0b', ['t\uD800', 'ok \uD83D\uDE00'], { ['k\0']: ['\uDC00'] }],
    },
  ]);
  const { rows } = await db.query<{ note: string; tags: string[]; doc: unknown }>(
    'SELECT note, tags, doc FROM odd WHERE id = 1',
  );
  assert.equal(rows, [{ note: 'a\uFFFDb', tags: ['t\uFFFD', 'ok \uD83D\uDE00'], doc: { 'k\uFFFD': ['\uFFFD'] } }]);
});

test('a typed page gives each projection the events statementsFor would take, in order', async () => {
  const log = new MemoryEventLog();
  for (const appends of eventMix(3_000)) await log.appendMany(appends);
  const events = await log.readAll({ maxCount: 10_000 });
  const page = new TypedPage(events);
  for (const projection of allProjections) {
    const tables = generationTables(projection, 1);
    const mine = page.of(projection);
    assert.ok(mine.every((event) => projection.eventTypes.includes(event.type)));
    assert.equal(statementsFor(projection, mine, tables), statementsFor(projection, events, tables), projection.name);
  }
  assert.equal(new TypedPage([]).of(allProjections[0]!), []);
});

test.run();
