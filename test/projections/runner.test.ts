// The projection runner on a real database: exactly-once batches, idempotency, stop-on-error,
// blue/green rebuild, version bumps, read-your-writes, and one leader per projection.
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../app/logger.ts';
import { PostgresEventLog } from '../../eventstore/postgres.ts';
import { comparePositions, type RecordedEvent } from '../../eventstore/port.ts';
import { ProjectionFailedError, ProjectionRunner } from '../../projections/runner.ts';
import { applyStatements, liveTables, type Projection, type Tables } from '../../projections/sql.ts';
import { anyDatabase, serverUrl, type TestDatabase } from '../support/databases.ts';

const logger = createLogger('silent');

export const ticks = (version = 1): Projection => ({
  name: 'ticks',
  version,
  tables: {
    ticks: `CREATE TABLE {ticks} (stream text PRIMARY KEY, count int NOT NULL, last_revision bigint NOT NULL, note text)`,
  },
  eventTypes: ['Tick', 'Poison'],
  toStatements(event: RecordedEvent, t: Tables) {
    if (event.type === 'Poison') throw new Error(`cannot project ${(event.data as { why: string }).why}`);
    return [
      {
        // Idempotent: the revision guard ignores an event the row has already counted.
        sql: `INSERT INTO ${t.ticks} (stream, count, last_revision, note) VALUES ($1, 1, $2, $3)
              ON CONFLICT (stream) DO UPDATE SET count = ${t.ticks}.count + 1, last_revision = $2, note = $3
              WHERE ${t.ticks}.last_revision < $2`,
        params: [event.stream, String(event.revision), (event.data as { note?: string }).note ?? null],
      },
    ];
  },
});

type Ctx = { database: TestDatabase; log: PostgresEventLog; runner: ProjectionRunner };
const test = suite<Ctx>('projections: runner');

test.before.each(async (context) => {
  context.database = await anyDatabase();
  context.log = new PostgresEventLog(context.database.db, { pollMs: 50 });
  context.runner = new ProjectionRunner(context.database.db, context.log, [ticks()], logger, {
    batchSize: 50,
    lockRetryMs: 100,
  });
});
test.after.each(async ({ runner, log, database }) => {
  await runner.stop();
  await log.close();
  await database.dispose();
});

const rows = async ({ database }: Ctx, table = 'ticks') =>
  (
    await database.db.query(
      `SELECT stream, count, last_revision::int AS last_revision, note FROM ${table} ORDER BY stream`,
    )
  ).rows;

test('catch-up then live; waitFor gives read-your-writes', async (context) => {
  const { log, runner } = context;
  for (let i = 0; i < 120; i += 1) await log.append(`s${i % 3}`, [{ type: 'Tick', data: {} }]);
  await log.append('other', [{ type: 'Ignored', data: {} }]);
  await runner.start();
  await runner.waitFor(await log.headPosition());
  assert.equal(
    (await rows(context)).map((r) => r.count),
    [40, 40, 40],
  );
  const appended = await log.append('s0', [{ type: 'Tick', data: { note: 'live' } }]);
  await runner.waitFor(appended.position);
  assert.equal((await rows(context))[0], { stream: 's0', count: 41, last_revision: 40, note: 'live' });
  const [status] = await runner.status();
  assert.is(status!.status, 'running');
  assert.is(status!.eventsHandled, 122);
  assert.is(status!.lagEvents, 0);
  assert.ok(await runner.caughtUp());
});

test('a live batch whose checkpoint moved underneath it writes nothing: the guard rolls its statements back', async (context) => {
  // Counts every application, not idempotent on purpose: a batch applied when it should not be shows.
  const applications: Projection = {
    name: 'applications',
    version: 1,
    tables: { applications: 'CREATE TABLE {applications} (id int PRIMARY KEY, n int NOT NULL)' },
    eventTypes: ['Tick'],
    toStatements: (_event, t) => [
      {
        sql: `INSERT INTO ${t.applications} (id, n) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = ${t.applications}.n + 1`,
      },
    ],
  };
  const { log, database } = context;
  // Needs a second connection holding a row lock; embedded PGlite has one connection for everything.
  if (database.db.embedded) return;
  const runner = new ProjectionRunner(database.db, log, [applications], logger, { batchSize: 50, lockRetryMs: 100 });
  const other = await database.db.pool.connect();
  try {
    await runner.start();
    await runner.waitFor((await log.append('s', [{ type: 'Tick', data: {} }])).position);
    const count = async () =>
      (await database.db.query<{ n: number }>('SELECT n FROM applications WHERE id = 1')).rows[0]!.n;
    assert.is(await count(), 1);
    // Another writer (as another instance would) holds the checkpoint row while the runner's next batch
    // waits for it, then moves it past that batch's event and commits.
    await other.query('BEGIN');
    await other.query(`SELECT 1 FROM projection_checkpoints WHERE name = 'applications' FOR UPDATE`);
    const second = await log.append('s', [{ type: 'Tick', data: {} }]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await other.query(
      `UPDATE projection_checkpoints SET position_commit = $1, position_prepare = $2 WHERE name = 'applications'`,
      [String(second.position.commit), String(second.position.prepare)],
    );
    await other.query('COMMIT');
    await runner.waitFor(second.position);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.is(await count(), 1, "the runner's batch saw the moved checkpoint and wrote nothing");
    // And it goes on from the moved checkpoint.
    await runner.waitFor((await log.append('s', [{ type: 'Tick', data: {} }])).position);
    assert.is(await count(), 2);
  } finally {
    other.release();
    await runner.stop();
  }
});

test('toStatements applied twice leaves the same rows (idempotent)', async (context) => {
  const { log, database } = context;
  await new ProjectionRunner(database.db, log, [ticks()], logger).setup();
  await log.append('a', [
    { type: 'Tick', data: {} },
    { type: 'Tick', data: {} },
  ]);
  // (A transaction running elsewhere on the server can hold new events back for a moment.)
  let events = await log.readAll();
  while (events.length < 2) events = await log.readAll();
  const statements = events.flatMap((e) => ticks().toStatements(e, liveTables(ticks())));
  await applyStatements(database.db, statements);
  const once = await rows(context);
  await applyStatements(database.db, statements);
  assert.equal(await rows(context), once);
  assert.is(once[0]!.count, 2);
});

test('waitFor waits for the projections it is given, and only for those', async (context) => {
  const { database, log } = context;
  const healthy = ticks();
  // A second read model that cannot project Tick: it stops on the first one, so waiting for it fails.
  const broken: Projection = {
    name: 'broken_ticks',
    version: 1,
    tables: { broken_ticks: `CREATE TABLE {broken_ticks} (id int)` },
    eventTypes: ['Tick'],
    toStatements: () => {
      throw new Error('broken on purpose');
    },
  };
  const runner = new ProjectionRunner(database.db, log, [healthy, broken], logger, { batchSize: 50, lockRetryMs: 100 });
  try {
    await runner.start();
    const appended = await log.append('w', [{ type: 'Tick', data: {} }]);
    await runner.waitFor(appended.position, { projections: [healthy], timeoutMs: 5_000 });
    assert.equal(await rows(context), [{ stream: 'w', count: 1, last_revision: 0, note: null }]);
    for (const projections of [[broken], undefined]) {
      try {
        await runner.waitFor(appended.position, { ...(projections ? { projections } : {}), timeoutMs: 5_000 });
        assert.unreachable('waitFor should reject');
      } catch (error) {
        assert.instance(error, ProjectionFailedError);
        assert.match((error as Error).message, /broken on purpose/);
      }
    }
  } finally {
    await runner.stop();
  }
});

test('a projection that throws stops with the error and the event recorded; waitFor rejects; nothing is skipped', async (context) => {
  const { log, runner } = context;
  await log.append('a', [{ type: 'Tick', data: {} }]);
  const poison = await log.append('a', [{ type: 'Poison', data: { why: 'this one' } }]);
  const after = await log.append('a', [{ type: 'Tick', data: {} }]);
  await runner.start();
  try {
    await runner.waitFor(after.position, { timeoutMs: 5_000 });
    assert.unreachable('waitFor should reject');
  } catch (error) {
    assert.instance(error, ProjectionFailedError);
    assert.match((error as Error).message, /cannot project this one/);
  }
  const [status] = await runner.status();
  assert.is(status!.status, 'failed');
  assert.match(status!.lastError ?? '', /cannot project this one/);
  const [poisonEvent] = await log.readStream('a', { fromRevision: 1n, maxCount: 1 });
  assert.is(status!.failedEventId, poisonEvent!.id);
  // The event before the poison is applied, the one after is not (no silent skip).
  assert.equal(
    (await rows(context)).map((r) => r.count),
    [1],
  );
  assert.ok(poison.position);
  assert.is(await runner.caughtUp(), false);
});

test('rebuild fills fresh tables, swaps them in, and the live runner continues on them', async (context) => {
  const { log, runner, database } = context;
  for (let i = 0; i < 130; i += 1) await log.append(`r${i % 5}`, [{ type: 'Tick', data: {} }]);
  await runner.start();
  await runner.waitFor(await log.headPosition());
  const before = await rows(context);
  // Damage the live table: a rebuild must restore it from the log.
  await database.db.query(`DELETE FROM ticks WHERE stream = 'r0'`);
  const seen: number[] = [];
  const result = await runner.rebuild('ticks', (progress) => seen.push(progress.handled));
  // The rebuild swaps at the newest position it could see; the live runner takes it from there.
  assert.ok(result.handled >= 50 && result.handled <= 130, `handled ${result.handled}`);
  assert.is(result.generation, 1);
  assert.ok(seen.length >= 2, 'progress is reported per batch');
  await runner.waitFor(await log.headPosition());
  assert.equal(await rows(context), before);
  const next = await log.append('r0', [{ type: 'Tick', data: {} }]);
  await runner.waitFor(next.position);
  assert.is((await rows(context))[0]!.count, 27);
  const leftovers = await database.db.query(`SELECT tablename FROM pg_tables WHERE tablename LIKE 'ticks%' ORDER BY 1`);
  assert.equal(
    leftovers.rows.map((r) => r.tablename),
    ['ticks'],
  );
});

test('a changed projection version rebuilds on start', async (context) => {
  const { log, database } = context;
  await log.append('v', [{ type: 'Tick', data: { note: 'x' } }]);
  const first = new ProjectionRunner(database.db, log, [ticks(1)], logger);
  await first.start();
  await first.waitFor(await log.headPosition());
  await first.stop();
  await database.db.query(`UPDATE ticks SET note = 'stale'`);
  const second = new ProjectionRunner(database.db, log, [ticks(2)], logger);
  await second.start();
  const deadline = Date.now() + 10_000;
  let row;
  do {
    await new Promise((resolve) => setTimeout(resolve, 50));
    row = (await database.db.query(`SELECT version, generation FROM projection_checkpoints WHERE name = 'ticks'`))
      .rows[0];
  } while (row?.version !== 2 && Date.now() < deadline);
  await second.stop();
  assert.equal(row, { version: 2, generation: 1 });
  assert.is((await rows(context))[0]!.note, 'x');
});

if (serverUrl()) {
  test('server: two runners on one database → one leader, every event applied once', async (context) => {
    const { log, database, runner } = context;
    const other = new ProjectionRunner(database.db, log, [ticks()], logger, { batchSize: 7, lockRetryMs: 100 });
    await Promise.all([runner.start(), other.start()]);
    const tag = randomUUID();
    const writes = Array.from({ length: 4 }, (_, w) =>
      (async () => {
        let last;
        for (let i = 0; i < 30; i += 1) last = await log.append(`${tag}-${w}`, [{ type: 'Tick', data: {} }]);
        return last!.position;
      })(),
    );
    const lasts = await Promise.all(writes);
    // Wait for our own appends: headPosition() stops below any transaction still open (a projection's
    // own batch, say), so it can be older than the newest append.
    await runner.waitFor(
      lasts.reduce((newest, position) => (comparePositions(position, newest) > 0 ? position : newest)),
      { timeoutMs: 10_000 },
    );
    await other.stop();
    assert.equal(
      (await rows(context)).map((r) => r.count),
      [30, 30, 30, 30],
    );
    const [status] = await runner.status();
    assert.is(status!.eventsHandled, 120);
  });
}

test.run();
