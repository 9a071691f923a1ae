// follow alone: batches and checkpoint together, irrelevant events written lazily (and on stop), and a
// checkpoint moved under the leader ends the follow without applying anything.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../app/logger.ts';
import { PostgresEventLog } from '../../eventstore/postgres.ts';
import { comparePositions, type GlobalPosition } from '../../eventstore/port.ts';
import { readCheckpoint } from '../../projections/checkpoints.ts';
import { follow, LIVE_SET_MIN, type FollowContext } from '../../projections/follow.ts';
import { ProjectionRunner } from '../../projections/runner.ts';
import { anyDatabase, type TestDatabase } from '../support/databases.ts';
import type { Projection } from '../../projections/sql.ts';

const ticks = (): Projection => ({
  name: 'ticks',
  version: 1,
  tables: { ticks: 'CREATE TABLE {ticks} (stream text PRIMARY KEY, count int NOT NULL)' },
  eventTypes: ['Tick'],
  toStatements: (event, t) => [
    {
      sql: `INSERT INTO ${t.ticks} (stream, count) VALUES ($1, 1) ON CONFLICT (stream) DO UPDATE SET count = ${t.ticks}.count + 1`,
      params: [event.stream],
    },
  ],
});

type Ctx = { database: TestDatabase; log: PostgresEventLog; ctx: FollowContext; seen: GlobalPosition[] };
const test = suite<Ctx>('projections: follow');

test.before.each(async (context) => {
  context.database = await anyDatabase();
  context.log = new PostgresEventLog(context.database.db, { pollMs: 50 });
  await new ProjectionRunner(context.database.db, context.log, [ticks()], createLogger('silent')).setup();
  context.seen = [];
  context.ctx = {
    db: context.database.db,
    log: context.log,
    logger: createLogger('silent'),
    batchSize: 2,
    onPosition: (position) => context.seen.push(position),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    onFailed: () => undefined,
  };
});
test.after.each(async ({ log, database }) => {
  await log.close();
  await database.dispose();
});

const until = async (check: () => boolean) => {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
};

test('applies batches with their checkpoint; a stop writes the position of skipped events', async (context) => {
  const { database, log, ctx, seen } = context;
  await log.append('a', [
    { type: 'Tick', data: {} },
    { type: 'Tick', data: {} },
    { type: 'Tick', data: {} },
  ]);
  const last = (await log.append('other', [{ type: 'Other', data: {} }])).position;
  let stop!: () => void;
  const following = follow(ctx, ticks(), (await readCheckpoint(database.db, 'ticks'))!, {
    stop: new Promise<void>((resolve) => (stop = resolve)),
    lost: new Promise<void>(() => undefined),
  });
  await until(() => seen.some((position) => comparePositions(position, last) >= 0));
  stop();
  assert.is(await following, 'ended');
  const checkpoint = (await readCheckpoint(database.db, 'ticks'))!;
  assert.equal(checkpoint.position, last);
  assert.is(checkpoint.eventsHandled, 4);
  assert.equal((await database.db.query('SELECT stream, count FROM ticks')).rows, [{ stream: 'a', count: 3 }]);
});

test('a checkpoint moved under the leader ends the follow, and its batch is not applied', async (context) => {
  const { database, log, ctx } = context;
  const start = (await readCheckpoint(database.db, 'ticks'))!;
  // A rebuild swapped its tables in meanwhile (another generation).
  await database.db.query(`UPDATE projection_checkpoints SET generation = generation + 1 WHERE name = 'ticks'`);
  await log.append('a', [{ type: 'Tick', data: {} }]);
  const outcome = await follow(ctx, ticks(), start, {
    stop: new Promise<void>(() => undefined),
    lost: new Promise<void>(() => undefined),
  });
  assert.is(outcome, 'ended');
  assert.equal((await database.db.query('SELECT count(*)::int AS n FROM ticks')).rows, [{ n: 0 }]);
  assert.is((await readCheckpoint(database.db, 'ticks'))!.status, 'running');
});

test('a lost leadership ends the follow at once', async (context) => {
  const { database, ctx } = context;
  const outcome = await follow(ctx, ticks(), (await readCheckpoint(database.db, 'ticks'))!, {
    stop: new Promise<void>(() => undefined),
    lost: Promise.resolve(),
  });
  assert.is(outcome, 'lost');
});

/** Keyed upserts in order (the last value and a count per group), and an unkeyed statement between them. */
const tallies = (): Projection => ({
  name: 'tallies',
  version: 1,
  tables: { tallies: 'CREATE TABLE {tallies} (grp text PRIMARY KEY, last int NOT NULL, seen int NOT NULL)' },
  eventTypes: ['Tally', 'Reset'],
  toStatements: (event, t) =>
    event.type === 'Reset'
      ? [{ sql: `UPDATE ${t.tallies} SET seen = 0 WHERE seen > $1`, params: [0] }]
      : [
          {
            sql: `INSERT INTO ${t.tallies} (grp, last, seen) VALUES ($1, $2, 1)
                  ON CONFLICT (grp) DO UPDATE SET last = EXCLUDED.last, seen = ${t.tallies}.seen + 1`,
            params: [(event.data as { group: string }).group, (event.data as { n: number }).n],
            batch: { key: (event.data as { group: string }).group, types: ['text', 'int4'] },
          },
        ],
});

// A batch's statements: its tallies and one reset.
for (const statements of [LIVE_SET_MIN - 1, 41]) {
  const count = statements - 1;
  test(`a live batch of ${statements} statements ${statements >= LIVE_SET_MIN ? 'goes set-based' : 'stays one statement each'}, with the same rows`, async (context) => {
    const { database, log } = context;
    await new ProjectionRunner(database.db, log, [tallies()], createLogger('silent')).setup();
    // Five groups, their values in order, and a reset of the counts halfway (one statement over every row).
    const events = Array.from({ length: count }, (_, n) => ({ group: `g${n % 5}`, n }));
    const half = Math.floor(count / 2);
    const appends = events.flatMap(({ group, n }) => [
      { stream: `tally-${n}`, events: [{ type: 'Tally', data: { group, n } }] },
      ...(n === half - 1 ? [{ stream: 'resets', events: [{ type: 'Reset', data: {} }] }] : []),
    ]);
    const last = (await log.appendMany(appends)).at(-1)!.position;
    const sent: string[] = [];
    const db = Object.assign(Object.create(database.db) as typeof database.db, {
      query: (text: string, params?: unknown[]) => {
        sent.push(text);
        return database.db.query(text, params);
      },
    });
    let stop!: () => void;
    const following = follow(
      { ...context.ctx, db, batchSize: 1_000 },
      tallies(),
      (await readCheckpoint(database.db, 'tallies'))!,
      {
        stop: new Promise<void>((resolve) => (stop = resolve)),
        lost: new Promise<void>(() => undefined),
      },
    );
    await until(() => context.seen.some((position) => comparePositions(position, last) >= 0));
    stop();
    assert.is(await following, 'ended');
    const expected = ['g0', 'g1', 'g2', 'g3', 'g4'].map((grp) => {
      const mine = events.filter((event) => event.group === grp);
      return { grp, last: mine.at(-1)!.n, seen: mine.filter((event) => event.n >= half).length };
    });
    assert.equal((await database.db.query('SELECT grp, last, seen FROM tallies ORDER BY grp')).rows, expected);
    assert.is(
      sent.some((text) => text.includes('unnest(')),
      count >= LIVE_SET_MIN,
    );
  });
}

test.run();
