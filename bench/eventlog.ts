// bench/eventlog: the event log next to raw `pg` doing the same work without its guarantees, in one run,
// on embedded PGlite and (when TEST_DATABASE_URL is set) a PostgreSQL server. Rows:
// - appends of one event at 1 and 8 writers, and of 100-event batches, vs raw INSERTs of the same rows,
//   with the CPU per event of node and of PostgreSQL's backends on each side. The raw row is
//   (identity, stream, data) with one index; a log row also carries what any log needs and raw skips:
//   an event id checked unique, the stream's revision (unique per stream, claimed on the stream's row
//   for optimistic concurrency), type, metadata, time, the appending transaction (for the global
//   order's horizon), and the log sends a NOTIFY after commits;
// - read-all in pages of 1,000 vs a raw keyset SELECT of the same rows;
// - the rebuild of every real projection (users, clients, grants, sessions, tool calls, memory, …) over
//   a realistic log (bench/event-mix.ts), vs a raw set-based loop that reads the log and inserts one
//   row per event with its checkpoint, in the same transaction per page;
// - personal fields sealed vs plain (bench/encryption-cost.ts): append of one event by one writer, and
//   replay of every event without reading the data, through every projection's toStatements (a rebuild's
//   reads) and reading every field, each store in a table of its own; and a rebuild of every real
//   projection over 50,000 events of the realistic mix, sealed against plain.
// Run: node --max-semi-space-size=64 --import tsx bench/eventlog.ts [events=100000] [--1m (adds a 1,000,000-event rebuild on the server)]
//   [--appends | --rebuild (only those rows) | --no-encryption (without the sealed vs plain rows)]
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLogger } from '../app/logger.ts';
import type { Database } from '../db/database.ts';
import { PostgresEventLog } from '../eventstore/postgres.ts';
import { START } from '../eventstore/port.ts';
import { allProjections } from '../projections/index.ts';
import { REBUILD_PAGE } from '../projections/rebuild.ts';
import { ProjectionRunner } from '../projections/runner.ts';
import { embeddedDatabase, serverDatabase, serverUrl } from '../test/support/databases.ts';
import { encryptionCost, printEncryptionCost, rebuildCost } from './encryption-cost.ts';
import { eventMix } from './event-mix.ts';
import { measureCpu, type Cpu } from './process-cpu.ts';

const args = process.argv.slice(2);
const TOTAL = Number(args.find((arg) => /^\d+$/.test(arg)) ?? 100_000);
const MILLION = args.includes('--1m');
/** --appends or --rebuild: only those rows (quicker while working on one side). */
const ONLY = args.includes('--appends') ? 'appends' : args.includes('--rebuild') ? 'rebuild' : undefined;
const logger = createLogger('silent');

const time = async (fn: () => Promise<unknown>) => {
  const started = performance.now();
  await fn();
  return performance.now() - started;
};
const rate = (count: number, ms: number) => Math.round((count / ms) * 1_000);

type Pair = { measure: string; log: number; raw: number };

/** CPU seconds per 100,000 events, for the rebuild and for the raw loop, in the same run. */
type CpuRow = { measure: string; events: number; log: Cpu; raw: Cpu };
const cpuRows: { store: string; rows: CpuRow[] }[] = [];

/** `writers` loops of `count / writers` calls each. */
const concurrently = (writers: number, count: number, call: (writer: number, i: number) => Promise<unknown>) =>
  Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; i < count / writers; i += 1) await call(w, i);
    }),
  );

/** Appends the realistic mix (big appendMany batches: loading is not what is measured). */
const load = async (log: PostgresEventLog, total: number) => {
  let pending: Parameters<PostgresEventLog['appendMany']>[0][number][] = [];
  let size = 0;
  for (const appends of eventMix(total)) {
    pending.push(...appends);
    size += appends.reduce((sum, a) => sum + a.events.length, 0);
    if (size >= 2_000) {
      await log.appendMany(pending);
      pending = [];
      size = 0;
    }
  }
  if (pending.length) await log.appendMany(pending);
};

/** Rebuilds every real projection; returns the events in the log and the time. */
const rebuildAll = async (db: Database, log: PostgresEventLog) => {
  const runner = new ProjectionRunner(db, log, allProjections, logger);
  await runner.setup();
  let events = 0;
  const ms = await time(async () => {
    for (const result of await runner.rebuildAll()) events = Math.max(events, result.handled);
  });
  return { events, ms };
};

/** The raw reference: read pages (as large as a rebuild's), one set-based INSERT per page and its checkpoint, one transaction each. */
const rawProjectionLoop = async (db: Database) => {
  await db.query('DROP TABLE IF EXISTS bench_raw_projection');
  await db.query('CREATE TABLE bench_raw_projection (event_id uuid PRIMARY KEY, stream text, type text, data jsonb)');
  await db.query('CREATE TABLE IF NOT EXISTS bench_raw_checkpoint (name text PRIMARY KEY, position bigint)');
  let after = '0';
  let events = 0;
  const ms = await time(async () => {
    for (;;) {
      const page = await db.query<{
        global_position: string;
        event_id: string;
        stream_id: string;
        event_type: string;
        data: unknown;
      }>(
        `SELECT global_position::text, event_id::text, stream_id, event_type, data FROM events
          WHERE global_position > $1 ORDER BY global_position LIMIT $2`,
        [after, REBUILD_PAGE],
      );
      if (page.rows.length === 0) break;
      after = page.rows[page.rows.length - 1]!.global_position;
      events += page.rows.length;
      await db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO bench_raw_projection SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[]) ON CONFLICT DO NOTHING`,
          [
            page.rows.map((r) => r.event_id),
            page.rows.map((r) => r.stream_id),
            page.rows.map((r) => r.event_type),
            page.rows.map((r) => JSON.stringify(r.data)),
          ],
        );
        await tx.query(
          `INSERT INTO bench_raw_checkpoint VALUES ('raw', $1) ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position`,
          [after],
        );
      });
    }
  });
  return { events, ms };
};

const tableOf = (tables: { store: string; rows: CpuRow[] }[], embedded: boolean): CpuRow[] => {
  const store = embedded ? 'PGlite' : 'PostgreSQL server';
  let entry = tables.find((row) => row.store === store);
  if (!entry) tables.push((entry = { store, rows: [] }));
  return entry.rows;
};
const cpuTable = (embedded: boolean) => tableOf(cpuRows, embedded);

/** CPU per appended event, log and raw: on a shared machine a steadier comparison than events/s. */
const appendCpuRows: { store: string; rows: CpuRow[] }[] = [];
const appendCpuTable = (embedded: boolean) => tableOf(appendCpuRows, embedded);
const noCpu = (): Cpu => ({ node: 0, postgres: undefined });
const addCpu = (sum: Cpu, cpu: Cpu) => {
  sum.node += cpu.node;
  if (cpu.postgres !== undefined) sum.postgres = (sum.postgres ?? 0) + cpu.postgres;
};

const run = async (db: Database, embedded: boolean, sizes: number[]): Promise<Pair[]> => {
  const pairs: Pair[] = [];
  const log = new PostgresEventLog(db);
  const single = embedded ? 1_000 : 4_000;
  await db.query(
    'CREATE TABLE bench_raw (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, stream text, data jsonb)',
  );
  const rawInsert = (stream: string, i: number) =>
    db.query('INSERT INTO bench_raw (stream, data) VALUES ($1, $2)', [stream, JSON.stringify({ i })]);
  // Warm both paths (prepared statements, JIT) before measuring.
  for (let i = 0; i < 200; i += 1) {
    await log.append(`warm-${i % 10}`, [{ type: 'Bench', data: { i } }]);
    await rawInsert(`warm-${i % 10}`, i);
  }
  for (const writers of ONLY === 'rebuild' ? [] : [1, 8]) {
    // Raw and log alternate in halves, so drift on a shared machine touches both alike.
    let logMs = 0;
    let rawMs = 0;
    const logCpu = noCpu();
    const rawCpu = noCpu();
    for (let half = 0; half < 2; half += 1) {
      const logHalf = await measureCpu(db, () =>
        time(() =>
          concurrently(writers, single / 2, (w, i) =>
            log.append(`w${writers}-${half}-${w}-${i % 10}`, [{ type: 'Bench', data: { i } }]),
          ),
        ),
      );
      logMs += logHalf.result;
      addCpu(logCpu, logHalf.cpu);
      const rawHalf = await measureCpu(db, () =>
        time(() => concurrently(writers, single / 2, (w, i) => rawInsert(`w${w}-${i % 10}`, i))),
      );
      rawMs += rawHalf.result;
      addCpu(rawCpu, rawHalf.cpu);
    }
    const measure = `append 1 event, ${writers} writer${writers > 1 ? 's' : ''}`;
    pairs.push({ measure, log: rate(single, logMs), raw: rate(single, rawMs) });
    appendCpuTable(embedded).push({ measure, events: single, log: logCpu, raw: rawCpu });
  }
  const batches = ONLY === 'rebuild' ? 0 : embedded ? 100 : 300;
  const batch = (i: number) =>
    Array.from({ length: 100 }, (_, n) => ({ type: 'Bench', data: { i, n }, id: randomUUID() }));
  const { result: logBatch, cpu: logBatchCpu } = await measureCpu(db, () =>
    time(async () => {
      for (let b = 0; b < batches; b += 1) await log.append(`batch-${b}`, batch(b));
    }),
  );
  const { result: rawBatch, cpu: rawBatchCpu } = await measureCpu(db, () =>
    time(async () => {
      for (let b = 0; b < batches; b += 1) {
        const rows = batch(b);
        await db.query('INSERT INTO bench_raw (stream, data) SELECT $1, unnest($2::jsonb[])', [
          `batch-${b}`,
          rows.map((row) => JSON.stringify(row.data)),
        ]);
      }
    }),
  );
  pairs.push({
    measure: 'append 100-event batch',
    log: rate(batches * 100, logBatch),
    raw: rate(batches * 100, rawBatch),
  });
  if (batches > 0)
    appendCpuTable(embedded).push({
      measure: 'append 100-event batch',
      events: batches * 100,
      log: logBatchCpu,
      raw: rawBatchCpu,
    });

  let loaded = 0;
  for (const size of ONLY === 'appends' ? [] : sizes) {
    await load(log, size - loaded);
    loaded = size;
    let read = 0;
    const readMs = await time(async () => {
      let after = START;
      for (;;) {
        const page = await log.readAll({ after, maxCount: 1_000 });
        if (page.length === 0) break;
        read += page.length;
        after = page[page.length - 1]!.position;
      }
    });
    let rawRead = 0;
    const rawReadMs = await time(async () => {
      let after = '0';
      for (;;) {
        const page = await db.query<{ global_position: string }>(
          `SELECT global_position::text, stream_id, stream_revision, event_id, event_type, data, metadata, created_at
             FROM events WHERE global_position > $1 ORDER BY global_position LIMIT 1000`,
          [after],
        );
        if (page.rows.length === 0) break;
        rawRead += page.rows.length;
        after = page.rows[page.rows.length - 1]!.global_position;
      }
    });
    pairs.push({ measure: `read all, ${read} events`, log: rate(read, readMs), raw: rate(rawRead, rawReadMs) });
    const { result: rebuilt, cpu: rebuildCpu } = await measureCpu(db, () => rebuildAll(db, log));
    const { result: raw, cpu: rawCpu } = await measureCpu(db, () => rawProjectionLoop(db));
    const measure = `rebuild all ${allProjections.length} projections, ${rebuilt.events} events`;
    pairs.push({ measure, log: rate(rebuilt.events, rebuilt.ms), raw: rate(raw.events, raw.ms) });
    cpuTable(embedded).push({ measure, events: rebuilt.events, log: rebuildCpu, raw: rawCpu });
  }
  await log.close();
  return pairs;
};

const print = (store: string, pairs: Pair[]) => {
  console.log(`\n${store} (events/s; raw = the same work on plain pg without the log's guarantees)`);
  console.table(
    pairs.map((p) => ({
      measure: p.measure,
      'event log': p.log,
      raw: p.raw,
      ratio: Number((p.log / p.raw).toFixed(2)),
    })),
  );
};

/**
 * CPU seconds per 100k events. A quiet 2-core machine could run the node side and PostgreSQL side by
 * side, so its rate is about 100k / max(node, (node + postgres) / 2) per second: an estimate, since
 * the rebuild overlaps them only partly (a page is read while the previous one is applied).
 */
const printAppendCpu = () => {
  for (const { store, rows } of appendCpuRows) {
    console.log(`\n${store}: appends, CPU µs per event (load average ${loadAverage()} at the end)`);
    // The server's side sums every backend of the bench database: the log's NOTIFYs count too.
    const per = (seconds: number | undefined, events: number) =>
      seconds === undefined ? 'in node' : Math.round((seconds * 1e6) / events);
    console.table(
      rows.map((row) => ({
        measure: row.measure,
        'log node': per(row.log.node, row.events),
        'log postgres': per(row.log.postgres, row.events),
        'raw node': per(row.raw.node, row.events),
        'raw postgres': per(row.raw.postgres, row.events),
      })),
    );
  }
};

const printCpu = () => {
  for (const { store, rows } of cpuRows) {
    console.log(`\n${store}: CPU seconds per 100,000 events (load average ${loadAverage()} at the end)`);
    const per = (seconds: number | undefined, events: number) =>
      seconds === undefined ? 'in node' : Number(((seconds * 100_000) / events).toFixed(2));
    const quiet = (cpu: Cpu, events: number) => {
      const node = (cpu.node * 100_000) / events;
      const both = node + ((cpu.postgres ?? 0) * 100_000) / events;
      return Math.round(100_000 / Math.max(node, cpu.postgres === undefined ? both : both / 2));
    };
    console.table(
      rows.map((row) => ({
        measure: row.measure,
        'rebuild node': per(row.log.node, row.events),
        'rebuild postgres': per(row.log.postgres, row.events),
        'raw node': per(row.raw.node, row.events),
        'raw postgres': per(row.raw.postgres, row.events),
        'rebuild ev/s on 2 idle cores (est.)': quiet(row.log, row.events),
        'raw ev/s on 2 idle cores (est.)': quiet(row.raw, row.events),
      })),
    );
  }
};

const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

// The server and the CLI run with a larger young generation (npm start, the Dockerfile, bin/remotemcp.js):
// a rebuild allocates per event, and V8's default spent a fifth of its node CPU collecting.
const youngGeneration = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].find((arg) =>
  arg.startsWith('--max-semi-space-size'),
);
console.log(
  youngGeneration
    ? `young generation: ${youngGeneration}, as the server and the CLI run`
    : "young generation: V8's default; the server and the CLI run with --max-semi-space-size=64 (pass it for their figures)",
);

const embedded = await embeddedDatabase();
print('PGlite (embedded, in memory)', await run(embedded.db, true, [TOTAL]));
await embedded.dispose();
if (serverUrl()) {
  const server = await serverDatabase();
  print('PostgreSQL server', await run(server.db, false, MILLION ? [TOTAL, 1_000_000] : [TOTAL]));
  await server.dispose();
} else {
  console.log('PostgreSQL server: skipped: TEST_DATABASE_URL not set');
}
printAppendCpu();
printCpu();

// The cost of encryption: the same appends and replay, plain and behind the encrypting decorator.
if (ONLY === undefined && !args.includes('--no-encryption')) {
  const only = ['append one', 'replay'] as const;
  const rows = [
    ...(await encryptionCost('PGlite', embeddedDatabase, 2, only)),
    ...(await rebuildCost('PGlite', embeddedDatabase, 2, 50_000)),
    ...(serverUrl() ? await encryptionCost('PostgreSQL', serverDatabase, 2, only) : []),
    ...(serverUrl() ? await rebuildCost('PostgreSQL', serverDatabase, 2, 50_000) : []),
  ];
  console.log('\nPersonal fields sealed vs plain (2 alternating rounds; cost: what sealing adds)');
  printEncryptionCost(rows);
}
