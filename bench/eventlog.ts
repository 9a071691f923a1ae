// bench/eventlog: append (single event per command, batched), read-all and projection rebuild
// throughput on embedded PGlite and (when TEST_DATABASE_URL is set) a PostgreSQL server.
// Baseline in the same run: raw INSERTs of the same rows without the event log's bookkeeping.
// Run: node --import tsx bench/eventlog.ts [events=100000]
import { randomUUID } from 'node:crypto';
import { createLogger } from '../app/logger.ts';
import type { Database } from '../db/database.ts';
import { PostgresEventLog } from '../eventstore/postgres.ts';
import { START, type RecordedEvent } from '../eventstore/port.ts';
import { ProjectionRunner } from '../projections/runner.ts';
import type { Projection, Tables } from '../projections/sql.ts';
import { embeddedDatabase, serverDatabase, serverUrl } from '../test/support/databases.ts';

const TOTAL = Number(process.argv[2] ?? 100_000);
const logger = createLogger('silent');

const counter: Projection = {
  name: 'bench_counter',
  version: 1,
  tables: {
    bench_counter:
      'CREATE TABLE {bench_counter} (stream text PRIMARY KEY, count int NOT NULL, last_revision bigint NOT NULL)',
  },
  eventTypes: ['Bench'],
  toStatements: (event: RecordedEvent, t: Tables) => [
    {
      sql: `INSERT INTO ${t.bench_counter} (stream, count, last_revision) VALUES ($1, 1, $2)
            ON CONFLICT (stream) DO UPDATE SET count = ${t.bench_counter}.count + 1, last_revision = $2 WHERE ${t.bench_counter}.last_revision < $2`,
      params: [event.stream, String(event.revision)],
    },
  ],
};

const rate = (count: number, ms: number) => Math.round((count / ms) * 1_000);
const time = async (fn: () => Promise<unknown>) => {
  const started = performance.now();
  await fn();
  return performance.now() - started;
};

type Row = { store: string; measure: string; count: number; ms: number; perSecond: number };

const run = async (store: string, db: Database): Promise<Row[]> => {
  const rows: Row[] = [];
  const add = (measure: string, count: number, ms: number) =>
    rows.push({ store, measure, count, ms: Math.round(ms), perSecond: rate(count, ms) });
  const log = new PostgresEventLog(db);
  const single = store.startsWith('PGlite') ? 500 : 2_000;
  add(
    'append: 1 event per command, 1 writer',
    single,
    await time(async () => {
      for (let i = 0; i < single; i += 1) await log.append(`single-${i % 100}`, [{ type: 'Bench', data: { i } }]);
    }),
  );
  add(
    'append: 1 event per command, 8 writers',
    single,
    await time(() =>
      Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          for (let i = 0; i < single / 8; i += 1)
            await log.append(`multi-${w}-${i % 10}`, [{ type: 'Bench', data: { i } }]);
        }),
      ),
    ),
  );
  // Baseline: the same single-row INSERT without the stream-version row and the expected-version check.
  await db.query(
    'CREATE TABLE IF NOT EXISTS bench_raw (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, stream text, data jsonb)',
  );
  add(
    'baseline: raw single-row INSERT, 1 writer',
    single,
    await time(async () => {
      for (let i = 0; i < single; i += 1)
        await db.query('INSERT INTO bench_raw (stream, data) VALUES ($1, $2)', [`s${i % 100}`, JSON.stringify({ i })]);
    }),
  );
  const batches = Math.ceil((TOTAL - single * 2) / 100);
  add(
    'append: 100-event batches',
    batches * 100,
    await time(async () => {
      for (let b = 0; b < batches; b += 1) {
        await log.append(
          `batch-${b % 1_000}`,
          Array.from({ length: 100 }, (_, i) => ({ type: 'Bench', data: { i }, id: randomUUID() })),
        );
      }
    }),
  );
  let read = 0;
  add(
    'read all (pages of 1000)',
    0,
    await time(async () => {
      let after = START;
      for (;;) {
        const page = await log.readAll({ after, maxCount: 1_000 });
        if (page.length === 0) break;
        read += page.length;
        after = page[page.length - 1]!.position;
      }
    }),
  );
  rows[rows.length - 1]!.count = read;
  rows[rows.length - 1]!.perSecond = rate(read, rows[rows.length - 1]!.ms);
  const runner = new ProjectionRunner(db, log, [counter], logger, { batchSize: 2_000 });
  await runner.setup();
  const rebuilt = await time(() => runner.rebuild('bench_counter'));
  add(`projection rebuild (${read} events)`, read, rebuilt);
  await log.close();
  return rows;
};

const all: Row[] = [];
const embedded = await embeddedDatabase();
all.push(...(await run('PGlite (embedded, in memory)', embedded.db)));
await embedded.dispose();
if (serverUrl()) {
  const server = await serverDatabase();
  all.push(...(await run('PostgreSQL server', server.db)));
  await server.dispose();
} else {
  process.stdout.write('PostgreSQL server: skipped: TEST_DATABASE_URL not set\n');
}
console.table(all);
