// Child process for the crash test: seeds events, or runs catch-up / rebuild of a deliberately
// NON-idempotent counter projection (so a doubled or lost batch would show in the counts).
import { createLogger } from '../../app/logger.ts';
import { openDatabase } from '../../db/database.ts';
import { migrate } from '../../db/migrate.ts';
import { PostgresEventLog } from '../../eventstore/postgres.ts';
import { ProjectionRunner } from '../../projections/runner.ts';
import type { Projection } from '../../projections/sql.ts';

import { PER_STREAM, STREAMS } from './shared.ts';

const counterNamed = (name: string): Projection => ({
  name,
  version: 1,
  tables: { [name]: `CREATE TABLE {${name}} (stream text PRIMARY KEY, count int NOT NULL)` },
  eventTypes: ['Count'],
  toStatements: (event, t) => [
    {
      sql: `INSERT INTO ${t[name]} (stream, count) VALUES ($1, 1) ON CONFLICT (stream) DO UPDATE SET count = ${t[name]}.count + 1`,
      params: [event.stream],
    },
    // Slow enough that the parent can kill us mid-way.
    ...(event.revision % 25n === 0n ? [{ sql: 'SELECT pg_sleep(0.01)' }] : []),
  ],
});
export const counter = counterNamed('crash_counter');
/** A second one, so a rebuild of both from one read is killed with the two at different positions. */
export const counterB = counterNamed('crash_counter_b');

const [mode, target] = process.argv.slice(2);
const db = target!.startsWith('postgres')
  ? await openDatabase({ kind: 'server', url: target! })
  : await openDatabase({ kind: 'embedded', dataDir: target! });
await migrate(db);
const log = new PostgresEventLog(db, { pollMs: 50 });
const runner = new ProjectionRunner(db, log, [counter, counterB], createLogger('silent'), {
  batchSize: 100,
  lockRetryMs: 100,
});
const say = (line: string) => process.stdout.write(`${line}\n`);

if (mode === 'seed') {
  for (let r = 0; r < PER_STREAM; r += 10) {
    for (let s = 0; s < STREAMS; s += 1)
      await log.append(
        `c${s}`,
        Array.from({ length: 10 }, () => ({ type: 'Count', data: {} })),
      );
  }
  say('seeded');
} else if (mode === 'catchup') {
  await runner.start();
  const head = await log.headPosition();
  for (;;) {
    const row = (
      await db.query<{ events_handled: string }>(
        `SELECT events_handled::text FROM projection_checkpoints WHERE name = 'crash_counter'`,
      )
    ).rows[0];
    say(`handled ${row?.events_handled ?? 0}`);
    try {
      await runner.waitFor(head, { timeoutMs: 50 });
      break;
    } catch {
      // not yet
    }
  }
  say('done');
} else if (mode === 'rebuild') {
  await runner.setup();
  await runner.rebuild('crash_counter', (progress) => say(`handled ${progress.handled}`));
  say('done');
} else if (mode === 'rebuild-all') {
  await runner.setup();
  await runner.rebuildAll(undefined, (progress) => say(`handled ${progress.handled}`));
  say('done');
}
await runner.stop();
await log.close();
await db.close();
process.exit(0);
