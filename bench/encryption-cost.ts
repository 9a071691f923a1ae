// What sealing personal fields costs (eventstore/encrypting.ts), for bench/encryption.ts and the
// "sealed vs plain" rows of bench/eventlog.ts. Side by side in one run, each in a database of its own:
// the plain adapter (the baseline) and the same adapter behind the encrypting decorator, on the same
// events. Rounds alternate plain and encrypted so a machine's drift hits both alike; besides events/s
// (wall clock) each row has this process's CPU per event, which a loaded machine disturbs less (on
// PGlite it includes the database), and on a server its backends' CPU per event, read from /proc.
// - append: a memory note per command (as memory_store writes it), one writer;
// - append: MCP messages through the group commit, 8 sessions at once (as bench/mcp's calls store them);
// - replay: readAll of every event in pages of 1,000, three ways: without looking at the data (sealed
//   fields are opened on first read); through every real projection's toStatements, which is what a
//   rebuild reads (the notes are parsed and so opened; MCP messages are projected by none); and reading
//   every field of every event (every envelope opened);
// - rebuild (rebuildCost): every real projection over the realistic mix, the read models written.
import { randomBytes, randomUUID } from 'node:crypto';
import { ERASURE, PERSONAL_FIELDS, erasedValue } from '../domain/personal.ts';
import { encrypting, PersonalData } from '../eventstore/encrypting.ts';
import { GroupCommit } from '../eventstore/group-commit.ts';
import { PersonalKeyStore } from '../eventstore/personal-keys.ts';
import { START, type EventLog, type GlobalPosition } from '../eventstore/port.ts';
import { PostgresEventLog } from '../eventstore/postgres.ts';
import { allProjections } from '../projections/index.ts';
import { liveTables, statementsFor } from '../projections/sql.ts';
import { ProjectionRunner } from '../projections/runner.ts';
import { createLogger } from '../app/logger.ts';
import type { Database } from '../db/database.ts';
import { eventMix } from './event-mix.ts';
import { measureCpu } from './process-cpu.ts';
import type { TestDatabase } from '../test/support/databases.ts';

const logger = createLogger('silent');
const USERS = Array.from({ length: 20 }, () => randomUUID());

/** Wall and CPU milliseconds of `fn`: this process's, and `db`'s PostgreSQL backends' (0 on PGlite, which
 * runs in this process and is counted in it). */
const time = async (db: Database, fn: () => Promise<unknown>) => {
  const started = performance.now();
  const { cpu } = await measureCpu(db, fn);
  return { ms: performance.now() - started, cpuMs: cpu.node * 1_000, pgMs: (cpu.postgres ?? 0) * 1_000 };
};
type Spent = Awaited<ReturnType<typeof time>>;

const note = (i: number) => ({
  type: 'MemoryStored',
  data: {
    noteId: randomUUID(),
    userId: USERS[i % USERS.length]!,
    title: `Note ${i}`,
    content: `The deploy key rotates every Friday; remember to tell the on-call person (${i}).`.repeat(3),
    tags: ['ops', 'weekly'],
    at: new Date().toISOString(),
  },
});

// A tools/call result as the SDK sends it (about 1 KB), kept for resumption.
const message = (i: number) => ({
  type: 'McpEventEmitted',
  data: {
    sessionId: `bench-${i % 8}`,
    userId: USERS[i % USERS.length]!,
    streamId: randomUUID(),
    seq: 1,
    message: {
      jsonrpc: '2.0',
      id: i,
      result: { content: [{ type: 'text', text: `result ${i} `.repeat(80) }], structuredContent: { i } },
    },
  },
});

type Measure = { name: string; count: number; run: (log: EventLog, round: number) => Promise<void> };
export type MeasureName = 'append one' | 'append group' | 'replay' | 'rebuild';

const measures = (store: string, only: readonly MeasureName[]): Measure[] => {
  const single = store === 'PGlite' ? 300 : 1_000;
  const messages = store === 'PGlite' ? 2_000 : 4_000;
  const all: (Measure & { key: MeasureName })[] = [
    {
      key: 'append one',
      name: 'append: 1 memory note per command, 1 writer',
      count: single,
      run: async (log, round) => {
        for (let i = 0; i < single; i += 1) await log.append(`memory-note-${round}-${i}`, [note(i)]);
      },
    },
    {
      key: 'append group',
      name: 'append: MCP messages, group commit, 8 writers',
      count: messages,
      run: async (log, round) => {
        const commits = new GroupCommit(log);
        await Promise.all(
          Array.from({ length: 8 }, async (_, w) => {
            for (let i = w; i < messages; i += 8) await commits.append(`mcp-messages-${round}-${w}`, [message(i)]);
          }),
        );
        await commits.flush();
      },
    },
  ];
  return all.filter((m) => only.includes(m.key));
};

/**
 * How a replay looks at each page: `none` reads no data; `projections` runs every real projection's
 * toStatements over it, which is what a rebuild reads (each projection parses the types it handles, and no
 * projection reads MCP messages); `every` reads every field of every event.
 */
type ReplayRead = 'none' | 'projections' | 'every';
const REPLAY_NAMES: Record<ReplayRead, string> = {
  none: 'replay: readAll, pages of 1,000, data not read',
  projections: "replay: readAll + every projection's toStatements (a rebuild's reads)",
  every: 'replay: readAll, pages of 1,000, every field read',
};
const TABLES = allProjections.map((projection) => ({ projection, tables: liveTables(projection) }));

const replay = async (log: EventLog, read: ReplayRead): Promise<number> => {
  let after: GlobalPosition = START;
  let count = 0;
  let seen = 0;
  for (;;) {
    const page = await log.readAll({ after, maxCount: 1_000 });
    if (page.length === 0) return count + (seen < 0 ? 1 : 0);
    count += page.length;
    if (read === 'projections')
      for (const { projection, tables } of TABLES) seen += statementsFor(projection, page, tables).length;
    else if (read === 'every')
      for (const event of page) {
        const data = event.data as Record<string, unknown>;
        for (const name in data) seen += data[name] === undefined ? 0 : 1;
      }
    after = page[page.length - 1]!.position;
  }
};

export type Row = {
  store: string;
  measure: string;
  events: number;
  plainPerSecond: number;
  sealedPerSecond: number;
  plainCpuUs: number;
  sealedCpuUs: number;
  /** The server's backends, per event (undefined on PGlite: its CPU is in the columns above). */
  plainPgUs: number | undefined;
  sealedPgUs: number | undefined;
};

type Which = 'plain' | 'sealed';
type Side = { which: Which; db: Database; log: EventLog };

/** Two stores, each in a database of its own: the plain adapter, and the same adapter behind the decorator. */
const openSides = async (open: () => Promise<TestDatabase>) => {
  const plainDb = await open();
  const sealedDb = await open();
  const secret = randomBytes(32);
  const keys = new PersonalKeyStore(sealedDb.db, () => Promise.resolve(secret));
  const sides: [Side, Side] = [
    { which: 'plain', db: plainDb.db, log: new PostgresEventLog(plainDb.db) },
    {
      which: 'sealed',
      db: sealedDb.db,
      log: encrypting(
        new PostgresEventLog(sealedDb.db),
        new PersonalData(keys, { rules: PERSONAL_FIELDS, erased: erasedValue, erasure: ERASURE }),
      ),
    },
  ];
  return {
    sides,
    /** The sides in this round's order: plain first in even rounds, sealed first in odd ones. */
    inTurn: (round: number): Side[] => (round % 2 === 1 ? [sides[1], sides[0]] : [...sides]),
    async close() {
      for (const { log } of sides) await log.close();
      await plainDb.dispose();
      await sealedDb.dispose();
    },
  };
};

/** Time and CPU spent per measure and side; the events counted once, on the plain side. */
class Tally {
  private readonly totals = new Map<string, { count: number } & Record<Which, Spent>>();

  add(name: string, count: number, which: Which, spent: Spent): void {
    const none = (): Spent => ({ ms: 0, cpuMs: 0, pgMs: 0 });
    const entry = this.totals.get(name) ?? { count: 0, plain: none(), sealed: none() };
    if (which === 'plain') entry.count += count;
    entry[which].ms += spent.ms;
    entry[which].cpuMs += spent.cpuMs;
    entry[which].pgMs += spent.pgMs;
    this.totals.set(name, entry);
  }

  rows(store: string, embedded: boolean): Row[] {
    return [...this.totals].map(([measure, { count, plain, sealed }]) => {
      const perEvent = (ms: number) => Math.round((ms / count) * 1_000 * 10) / 10;
      return {
        store,
        measure,
        events: count,
        plainPerSecond: Math.round((count / plain.ms) * 1_000),
        sealedPerSecond: Math.round((count / sealed.ms) * 1_000),
        plainCpuUs: perEvent(plain.cpuMs),
        sealedCpuUs: perEvent(sealed.cpuMs),
        plainPgUs: embedded ? undefined : perEvent(plain.pgMs),
        sealedPgUs: embedded ? undefined : perEvent(sealed.pgMs),
      };
    });
  }
}

export const encryptionCost = async (
  store: string,
  open: () => Promise<TestDatabase>,
  rounds: number,
  only: readonly MeasureName[] = ['append one', 'append group', 'replay'],
): Promise<Row[]> => {
  const stores = await openSides(open);
  const tally = new Tally();
  // Warm-up: JIT, prepared statements, the data keys of every user.
  for (const { log } of stores.sides) for (const m of measures(store, only)) await m.run(log, -1);
  for (let round = 0; round < rounds; round += 1) {
    for (const m of measures(store, only))
      for (const { which, db, log } of stores.inTurn(round))
        tally.add(m.name, m.count, which, await time(db, () => m.run(log, round)));
    for (const read of only.includes('replay') ? (['none', 'projections', 'every'] as const) : [])
      for (const { which, db, log } of stores.inTurn(round)) {
        let count = 0;
        const spent = await time(db, async () => (count = await replay(log, read)));
        tally.add(REPLAY_NAMES[read], count, which, spent);
      }
  }
  const embedded = stores.sides[0].db.embedded;
  await stores.close();
  return tally.rows(store, embedded);
};

/**
 * A rebuild of every real projection over the realistic mix (bench/event-mix.ts), the replay an operator
 * runs: one log stored plain, one through the decorator (every personal field sealed), each in a database
 * of its own, rebuilt in turns. PostgreSQL's writes of the read models are in the loop, as in production.
 */
export const rebuildCost = async (
  store: string,
  open: () => Promise<TestDatabase>,
  rounds: number,
  events: number,
): Promise<Row[]> => {
  const stores = await openSides(open);
  // The same events on both sides (the mix makes fresh ids per call).
  const appends = [...eventMix(events)].flat();
  for (const { log, db } of stores.sides) {
    for (let i = 0; i < appends.length; i += 500) await log.appendMany(appends.slice(i, i + 500));
    // A log at rest, as autovacuum leaves it: without statistics a page's read may plan a scan and a sort.
    await db.query('VACUUM ANALYZE events');
  }
  const runners = new Map(
    stores.sides.map((side) => [side.which, new ProjectionRunner(side.db, side.log, allProjections, logger)]),
  );
  for (const runner of runners.values()) await runner.setup();
  const rebuild = async (which: Which) => {
    let handled = 0;
    for (const result of await runners.get(which)!.rebuildAll()) handled = Math.max(handled, result.handled);
    return handled;
  };
  for (const which of runners.keys()) await rebuild(which); // warm-up: JIT, the data keys
  const measure = `rebuild: all ${allProjections.length} real projections, realistic mix`;
  const tally = new Tally();
  for (let round = 0; round < rounds; round += 1)
    for (const { which, db } of stores.inTurn(round)) {
      let handled = 0;
      const spent = await time(db, async () => (handled = await rebuild(which)));
      tally.add(measure, handled, which, spent);
    }
  const embedded = stores.sides[0].db.embedded;
  await stores.close();
  return tally.rows(store, embedded);
};

const percent = (plain: number, sealed: number) => `${(((sealed - plain) / plain) * 100).toFixed(1)}%`;

/**
 * One table: events/s by the wall clock (what a user sees, the database in the loop; on a loaded machine
 * it moves with the neighbours) and this process's CPU per event, plain and sealed, and what sealing adds.
 */
export const printEncryptionCost = (rows: readonly Row[]): void => {
  const total = (cpu: number, pg: number | undefined) => cpu + (pg ?? 0);
  console.table(
    rows.map((row) => ({
      store: row.store,
      measure: row.measure,
      events: row.events,
      'plain ev/s (wall)': row.plainPerSecond,
      'sealed ev/s (wall)': row.sealedPerSecond,
      'wall cost': percent(1 / row.plainPerSecond, 1 / row.sealedPerSecond),
      'plain node µs/ev': row.plainCpuUs,
      'sealed node µs/ev': row.sealedCpuUs,
      'node CPU cost': percent(row.plainCpuUs, row.sealedCpuUs),
      'plain PG µs/ev': row.plainPgUs ?? 'in node',
      'sealed PG µs/ev': row.sealedPgUs ?? 'in node',
      'CPU cost, node + PG': percent(total(row.plainCpuUs, row.plainPgUs), total(row.sealedCpuUs, row.sealedPgUs)),
    })),
  );
};
