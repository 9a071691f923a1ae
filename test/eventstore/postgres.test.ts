import { randomUUID } from 'node:crypto';
import * as assert from 'uvu/assert';
import type { Prepared, Queryable, Row } from '../../db/database.ts';
import { Notifier, PostgresEventLog } from '../../eventstore/postgres.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import postgres from 'pg';
import {
  createServerDatabase,
  embeddedDatabase,
  serverDatabase,
  serverUrl,
  type TestDatabase,
} from '../support/databases.ts';
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

pglite('a NOTIFY payload is inlined into its statement, so only characters that need no quoting pass', async () => {
  const db: Queryable = { query: () => Promise.reject(new Error('not sent')) };
  assert.not.throws(() => new Notifier(db, randomUUID()));
  for (const payload of ["x'; SELECT 1; --", 'a b', '', 'x\\y'])
    assert.throws(() => new Notifier(db, payload), /NOTIFY payload/, payload);
});

pglite('PGlite: scavenge deletes what retention hides, nothing else', async ({ log }) => {
  const pg = log as PostgresEventLog;
  const kept = `keep-${randomUUID()}`;
  const trimmed = `trim-${randomUUID()}`;
  await pg.append(kept, [
    { type: 'A', data: {} },
    { type: 'B', data: {} },
  ]);
  await pg.append(
    trimmed,
    Array.from({ length: 5 }, (_, i) => ({ type: 'T', data: { i } })),
  );
  await pg.setStreamMetadata(trimmed, { maxCount: 2 });
  const removed = await pg.scavenge();
  assert.ok(removed >= 3);
  const all = await pg.readAll({ maxCount: 10_000 });
  assert.equal(
    all.filter((e) => e.stream === trimmed).map((e) => (e.data as { i: number }).i),
    [3, 4],
  );
  assert.is(all.filter((e) => e.stream === kept).length, 2);
});

pglite('PGlite: readAll with dataOf keeps every event in order, only the place and type of others', async ({ log }) => {
  const pg = log as PostgresEventLog;
  const stream = `some-${randomUUID()}`;
  const start = await pg.headPosition();
  await pg.append(stream, [
    { type: 'Wanted', data: { n: 1 }, metadata: { actor: { id: 'a', type: 'system' } } },
    { type: 'Skipped', data: { n: 2 }, metadata: { actor: { id: 'b', type: 'system' } } },
    { type: 'Wanted', data: { n: 3 } },
  ]);
  const from = start ? { after: start } : {};
  const all = await pg.readAll({ ...from, maxCount: 100 });
  const some = await pg.readAll({ ...from, maxCount: 100, dataOf: ['Wanted'] });
  assert.equal(
    some.map((e) => [e.type, e.position]),
    all.map((e) => [e.type, e.position]),
  );
  assert.equal(
    some.map((e) => [e.id, e.stream, e.revision, e.createdAt]),
    all.map((e, i) => (i === 1 ? ['', '', -1n, new Date(0)] : [e.id, e.stream, e.revision, e.createdAt])),
  );
  assert.equal(
    some.map((e) => [e.data, e.metadata]),
    [
      [{ n: 1 }, { actor: { id: 'a', type: 'system' } }],
      [null, {}],
      [{ n: 3 }, {}],
    ],
  );
});

pglite('PGlite: readAll with metadataOf leaves the metadata of other types {}', async ({ log }) => {
  const pg = log as PostgresEventLog;
  const stream = `meta-${randomUUID()}`;
  const start = await pg.headPosition();
  const actor = { actor: { id: 'a', type: 'system' } };
  await pg.append(stream, [
    { type: 'Wanted', data: { n: 1 }, metadata: actor },
    { type: 'Plain', data: { n: 2 }, metadata: actor },
    { type: 'Skipped', data: { n: 3 }, metadata: actor },
  ]);
  const from = start ? { after: start } : {};
  const all = await pg.readAll({ ...from, maxCount: 100 });
  const some = await pg.readAll({ ...from, maxCount: 100, dataOf: ['Wanted', 'Plain'], metadataOf: ['Wanted'] });
  assert.equal(
    some.map((e) => [e.type, e.position, e.id, e.data, e.metadata]),
    [
      [all[0]!.type, all[0]!.position, all[0]!.id, { n: 1 }, actor],
      [all[1]!.type, all[1]!.position, all[1]!.id, { n: 2 }, {}],
      [all[2]!.type, all[2]!.position, '', null, {}],
    ],
  );
});

pglite('a subscription closed twice counts once: the tail keeps serving the others', async ({ log }) => {
  const tag = randomUUID();
  const start = await log.headPosition();
  const seen: string[] = [];
  const from = start ? { after: start } : {};
  const closing = log.subscribeAll({ ...from, onEvents: async () => undefined });
  const staying = log.subscribeAll({
    ...from,
    onEvents: async (events) => {
      for (const event of events) if ((event.data as { tag?: string }).tag === tag) seen.push(event.type);
    },
  });
  try {
    // As the projection runner may, on a failure and on losing its lock.
    await closing.close();
    await closing.close();
    await log.append(`twice-${tag}`, [{ type: 'After', data: { tag } }]);
    const deadline = Date.now() + 3_000;
    while (seen.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(seen, ['After']);
  } finally {
    await staying.close();
  }
});

// PGlite runs no autovacuum, so its tables are never analyzed: the planner knows nothing of how many
// events a stream has. Loading an aggregate reads the stream's newest page; those rows, and only those,
// are what PostgreSQL may touch, however long the stream (the cost of a refresh once grew with the grant).
pglite('PGlite: a backward page of a 3,000-event stream scans that page of rows, with no statistics', async () => {
  const database = await embeddedDatabase();
  const queries: { text: string; params: unknown[] }[] = [];
  const recording: TestDatabase['db'] = {
    ...database.db,
    query: (text, params) => {
      queries.push({ text: typeof text === 'string' ? text : text.text, params: params ?? [] });
      return database.db.query(text, params);
    },
  };
  const log = new PostgresEventLog(recording, { pollMs: 100 });
  try {
    const id = `long-${randomUUID()}`;
    // Other streams around it, as in a real log.
    for (let round = 0; round < 30; round += 1) {
      await log.append(
        id,
        Array.from({ length: 100 }, (_, i) => ({ type: 'Tick', data: { i: round * 100 + i } })),
      );
      await log.append(`other-${randomUUID()}`, [{ type: 'Other', data: {} }]);
    }
    queries.length = 0;
    const page = await log.readStream(id, { backwards: true, maxCount: 66 });
    assert.is(page.length, 66);
    assert.is((page[0]!.data as { i: number }).i, 2_999);
    assert.is(queries.length, 1);
    const { text, params } = queries[0]!;
    const explained = await database.db.query<{ 'QUERY PLAN': unknown }>(
      `EXPLAIN (ANALYZE, FORMAT JSON) ${text}`,
      params,
    );
    type Node = { 'Relation Name'?: string; 'Actual Rows'?: number; 'Actual Loops'?: number; Plans?: Node[] };
    const scanned = (node: Node): number =>
      (node['Relation Name'] === 'events' ? (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1) : 0) +
      (node.Plans ?? []).reduce((sum, child) => sum + scanned(child), 0);
    const [plan] = explained.rows[0]!['QUERY PLAN'] as [{ Plan: Node }];
    assert.is(scanned(plan.Plan), 66);
  } finally {
    await log.close();
    await database.dispose();
  }
});

pglite.run();

if (!serverUrl()) {
  skipSuite('EventLog contract: PostgreSQL server', 'TEST_DATABASE_URL not set', 16);
} else {
  const server = eventLogContract('PostgreSQL server', withLog(serverDatabase));

  // The reason for transaction_id + pg_snapshot_xmin: a transaction that took a lower sequence number
  // but commits after a higher-numbered one must not be skipped by a reader already past the higher one.
  server(
    'server: a reader never skips an event whose transaction commits after a later-numbered one',
    async ({ log }) => {
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
      await slow.query(`INSERT INTO event_streams (stream_id, version) VALUES ($1, 0)`, [`slow-${tag}`]);
      await slow.query(
        `INSERT INTO events (stream_id, stream_revision, event_id, event_type, data) VALUES ($1, 0, $2, 'Slow', $3)`,
        [`slow-${tag}`, randomUUID(), JSON.stringify({ tag })],
      );
      try {
        // Transaction B appends (higher global_position) and commits first.
        await pg.append(`fast-${tag}`, [{ type: 'Fast', data: { tag } }]);
        await read();
        // B must be held back while A is open: seeing it now would move the reader past A's position.
        assert.equal(
          seen.map((e) => e.type),
          [],
        );
        await slow.query('COMMIT');
      } finally {
        slow.release();
      }
      await read();
      assert.equal(
        seen.map((e) => e.type),
        ['Slow', 'Fast'],
      );
      assert.ok(seen[0]!.position.prepare < seen[1]!.position.prepare);
    },
  );

  server(
    'server: a transaction open in another database does not hold readers back; one in this database does',
    async ({ log }) => {
      const pg = log as PostgresEventLog;
      const db = (pg as unknown as { db: TestDatabase['db'] }).db;
      const tag = randomUUID();
      const elsewhere = await createServerDatabase();
      const other = new postgres.Client({ connectionString: elsewhere.url });
      await other.connect();
      const here = await db.connect();
      try {
        // Another database's transaction takes an id and stays open (a long job of another app).
        await other.query('BEGIN');
        await other.query('SELECT pg_current_xact_id()');
        const appended = await pg.append(`elsewhere-${tag}`, [{ type: 'Seen', data: { tag } }]);
        const page = await pg.readAll({ maxCount: 10_000 });
        assert.ok(page.some((e) => e.type === 'Seen' && (e.data as { tag?: string }).tag === tag));
        assert.equal(await pg.headPosition(), appended.position);
        // A transaction of this database with an id may still append below: it holds readers back.
        await here.query('BEGIN');
        await here.query('SELECT pg_current_xact_id()');
        const held = await pg.append(`held-${tag}`, [{ type: 'Held', data: { tag } }]);
        const after = await pg.readAll({ after: appended.position, maxCount: 100 });
        assert.equal(
          after.map((e) => e.type),
          [],
        );
        await here.query('COMMIT');
        assert.equal(
          (await pg.readAll({ after: appended.position, maxCount: 100 })).map((e) => e.type),
          ['Held'],
        );
        assert.equal(await pg.headPosition(), held.position);
      } finally {
        here.release();
        await other.query('ROLLBACK').catch(() => undefined);
        await other.end();
        await elsewhere.drop();
      }
    },
  );

  server(
    'server: concurrent writers on many streams, a live subscriber sees every event exactly once',
    async ({ log }) => {
      const tag = randomUUID();
      const seen = new Map<string, number>();
      const start = await log.headPosition();
      const subscription = log.subscribeAll({
        ...(start ? { after: start } : {}),
        onEvents: async (events) => {
          for (const e of events)
            if ((e.data as { tag?: string }).tag === tag) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
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
    },
  );

  server(
    "server: another log's append wakes a subscriber at once (NOTIFY); a log's own NOTIFY does not make it read again",
    async () => {
      // Two logs on one database, as two instances. Polling is slowed down so that only wake-ups can
      // explain a prompt delivery.
      const database = await serverDatabase();
      const reader = new PostgresEventLog(database.db, { pollMs: 10_000 });
      const writer = new PostgresEventLog(database.db, { pollMs: 10_000 });
      const reads = { reader: 0, writer: 0 };
      for (const [name, instance] of [
        ['reader', reader],
        ['writer', writer],
      ] as const) {
        const readAll = instance.readAll.bind(instance);
        instance.readAll = async (options) => {
          reads[name] += 1;
          return readAll(options);
        };
      }
      const tag = randomUUID();
      const received = { reader: 0, writer: 0 };
      const subscriptions = (['reader', 'writer'] as const).map((name) => {
        const instance = name === 'reader' ? reader : writer;
        return instance.subscribeAll({
          onEvents: async (events) => {
            received[name] += events.filter((event) => (event.data as { tag?: string }).tag === tag).length;
          },
        });
      });
      try {
        // Both tails are idle and listening.
        let settled = -1;
        while (settled !== reads.reader + reads.writer) {
          settled = reads.reader + reads.writer;
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
        const before = { ...reads };
        await writer.append(`notify-${tag}`, [{ type: 'N', data: { tag } }]);
        const deadline = Date.now() + 2_000;
        while ((received.reader < 1 || received.writer < 1) && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 10));
        assert.equal(received, { reader: 1, writer: 1 }, 'both subscribers got the event well before the 10 s poll');
        await new Promise((resolve) => setTimeout(resolve, 300));
        // The writer's tail read once, on its own wake-up. Its NOTIFY coming back would have made it read
        // again and retry on finding nothing (six reads); the reader reads on the NOTIFY (and may retry).
        assert.is(reads.writer - before.writer, 1);
        assert.ok(reads.reader - before.reader >= 1);
      } finally {
        for (const subscription of subscriptions) await subscription.close();
        await reader.close();
        await writer.close();
        await database.dispose();
      }
    },
  );

  server(
    'server: NOTIFYs of a steady stream of appends start at least the gap apart, and one follows the last append',
    async () => {
      const database = await serverDatabase();
      const starts: number[] = [];
      const counting: Queryable = {
        query: <R extends Row>(text: string | Prepared, params?: unknown[]) => {
          starts.push(performance.now());
          return database.db.query<R>(text, params);
        },
      };
      const notifier = new Notifier(counting, 'test', 5);
      try {
        // After a quiet spell the first NOTIFY leaves at the end of the event loop's turn.
        const first = performance.now();
        notifier.poke();
        assert.is(starts.length, 0);
        await new Promise((resolve) => setImmediate(resolve));
        assert.is(starts.length, 1);
        assert.ok(starts[0]! - first < 1);
        // 200 pokes over 100 ms or more: one NOTIFY per 5 ms at most, not one per poke.
        let lastPoke = 0;
        for (let i = 0; i < 200; i += 1) {
          await new Promise((resolve) => setTimeout(resolve, 0.5));
          notifier.poke();
          lastPoke = performance.now();
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
        const elapsed = lastPoke - first;
        // (Timers may fire up to a millisecond early: the loop's clock is cached.)
        assert.ok(starts.length <= elapsed / 4 + 2, `${starts.length} NOTIFYs in ${elapsed.toFixed(0)} ms`);
        assert.ok(starts.length >= 3);
        for (let i = 1; i < starts.length; i += 1)
          assert.ok(starts[i]! - starts[i - 1]! >= 4, `gap ${i}: ${(starts[i]! - starts[i - 1]!).toFixed(2)} ms`);
        // The last poke is covered by a NOTIFY that started after it.
        assert.ok(starts[starts.length - 1]! >= lastPoke);
        assert.is(notifier.sent, starts.length);
        // Closed: pokes send nothing.
        notifier.close();
        notifier.poke();
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.is(notifier.sent, starts.length);
      } finally {
        notifier.close();
        await database.dispose();
      }
    },
  );

  server.run();
}
