// follow alone: batches and checkpoint together, irrelevant events written lazily (and on stop), and a
// checkpoint moved under the leader ends the follow without applying anything.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../app/logger.ts';
import { PostgresEventLog } from '../../eventstore/postgres.ts';
import { comparePositions, type GlobalPosition } from '../../eventstore/port.ts';
import { readCheckpoint } from '../../projections/checkpoints.ts';
import { follow, type FollowContext } from '../../projections/follow.ts';
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

test.run();
