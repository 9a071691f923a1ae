import { randomUUID } from 'node:crypto';
import * as assert from 'uvu/assert';
import { PostgresEventLog } from '../../eventstore/postgres.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { embeddedDatabase, serverDatabase, serverUrl, type TestDatabase } from '../support/databases.ts';
import { skipSuite } from '../support/skip.ts';
import { eventLogContract } from './contract.ts';

const withLog = (open: () => Promise<TestDatabase>) => async () => {
  const database = await open();
  const log = new PostgresEventLog(database.db, { pollMs: 100 });
  return {
    log,
    async dispose() {
      await log.close();
      await database.dispose();
    },
  };
};

const pglite = eventLogContract('PostgreSQL on embedded PGlite', withLog(embeddedDatabase));

pglite('PGlite: scavenge deletes what retention hides, nothing else', async ({ log }) => {
  const pg = log as PostgresEventLog;
  const kept = `keep-${randomUUID()}`;
  const trimmed = `trim-${randomUUID()}`;
  await pg.append(kept, [{ type: 'A', data: {} }, { type: 'B', data: {} }]);
  await pg.append(trimmed, Array.from({ length: 5 }, (_, i) => ({ type: 'T', data: { i } })));
  await pg.setStreamMetadata(trimmed, { maxCount: 2 });
  const removed = await pg.scavenge();
  assert.ok(removed >= 3);
  const all = await pg.readAll({ maxCount: 10_000 });
  assert.equal(all.filter((e) => e.stream === trimmed).map((e) => (e.data as { i: number }).i), [3, 4]);
  assert.is(all.filter((e) => e.stream === kept).length, 2);
});

pglite.run();

if (!serverUrl()) {
  skipSuite('EventLog contract: PostgreSQL server', 'TEST_DATABASE_URL not set', 14);
} else {
  const server = eventLogContract('PostgreSQL server', withLog(serverDatabase));

  // The reason for transaction_id + pg_snapshot_xmin: a transaction that took a lower sequence number
  // but commits after a higher-numbered one must not be skipped by a reader already past the higher one.
  server('server: a reader never skips an event whose transaction commits after a later-numbered one', async ({ log }) => {
    const pg = log as PostgresEventLog;
    const db = (pg as unknown as { db: TestDatabase['db'] }).db;
    const tag = randomUUID();
    const head = await pg.headPosition();
    const seen: RecordedEvent[] = [];
    let cursor = head;
    const read = async () => {
      const page = await pg.readAll(cursor ? { after: cursor, maxCount: 100 } : { maxCount: 100 });
      if (page.length > 0) cursor = page[page.length - 1]!.position;
      seen.push(...page.filter((e) => (e.data as { tag?: string }).tag === tag));
    };
    // Transaction A opens first and inserts (lower global_position), then stays open.
    const slow = await db.connect();
    await slow.query('BEGIN');
    await slow.query(
      `INSERT INTO event_streams (stream_id, version) VALUES ($1, 0)`,
      [`slow-${tag}`],
    );
    await slow.query(
      `INSERT INTO events (stream_id, stream_revision, event_id, event_type, data) VALUES ($1, 0, $2, 'Slow', $3)`,
      [`slow-${tag}`, randomUUID(), JSON.stringify({ tag })],
    );
    try {
      // Transaction B appends (higher global_position) and commits first.
      await pg.append(`fast-${tag}`, [{ type: 'Fast', data: { tag } }]);
      await read();
      // B must be held back while A is open: seeing it now would move the reader past A's position.
      assert.equal(seen.map((e) => e.type), []);
      await slow.query('COMMIT');
    } finally {
      slow.release();
    }
    await read();
    assert.equal(seen.map((e) => e.type), ['Slow', 'Fast']);
    assert.ok(seen[0]!.position.prepare < seen[1]!.position.prepare);
  });

  server('server: concurrent writers on many streams, a live subscriber sees every event exactly once', async ({ log }) => {
    const tag = randomUUID();
    const seen = new Map<string, number>();
    const start = await log.headPosition();
    const subscription = log.subscribeAll({
      ...(start ? { after: start } : {}),
      onEvents: async (events) => {
        for (const e of events) if ((e.data as { tag?: string }).tag === tag) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
      },
    });
    const writers = Array.from({ length: 8 }, (_, w) =>
      (async () => {
        for (let i = 0; i < 25; i += 1) await log.append(`w${w}-${tag}`, [{ type: 'W', data: { tag, i } }]);
      })(),
    );
    await Promise.all(writers);
    const deadline = Date.now() + 5_000;
    while (seen.size < 200 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await subscription.close();
    assert.is(seen.size, 200);
    assert.ok([...seen.values()].every((count) => count === 1));
  });

  server.run();
}
