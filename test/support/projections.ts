// The apply-twice check every read model passes: a projection is idempotent (projections/sql.ts), so a
// runner that resumes from an older checkpoint, or sees an event twice, leaves the rows as they were.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Database } from '../../db/database.ts';
import type { DomainEvent } from '../../domain/shared.ts';
import type { EventMetadata, RecordedEvent } from '../../eventstore/port.ts';
import {
  applyStatements,
  ddl,
  generationTables,
  statementsFor,
  type Projection,
  type Tables,
} from '../../projections/sql.ts';
import { anyDatabase, type TestDatabase } from './databases.ts';

/** A read model's suite: one test database (server or embedded, whichever runs here) for its tests. */
export const projectionSuite = (name: string) => {
  const test = suite<{ database: TestDatabase }>(name);
  test.before(async (context) => {
    context.database = await anyDatabase();
  });
  test.after(async ({ database }) => database.dispose());
  return test;
};

/** Rows per logical table, as JSON (timestamps as ISO strings), in the order the test asked for. */
export type Rows = Record<string, Record<string, unknown>[]>;

/**
 * Records events as the log would: each checked by its domain schema (so shapes are real), revisions
 * from 0 per stream, positions and UUID ids in log order.
 */
export const recorder = <E extends DomainEvent>(
  schema: { parse(value: unknown): E },
  createdAt = new Date('2026-01-01T00:00:00Z'),
) => {
  let position = 0n;
  const revisions = new Map<string, bigint>();
  return (stream: string, event: E, metadata: EventMetadata = {}): RecordedEvent => {
    const { type, data } = schema.parse(event);
    const revision = revisions.get(stream) ?? 0n;
    revisions.set(stream, revision + 1n);
    position += 1n;
    return {
      id: `00000000-0000-4000-8000-${String(position).padStart(12, '0')}`,
      stream,
      revision,
      position: { commit: position, prepare: position },
      type,
      data,
      metadata,
      createdAt,
    };
  };
};

// Each check builds its tables afresh under a generation name, so several checks share one database.
let generation = 7000;
const freshTables = async (db: Database, projection: Projection): Promise<Tables> => {
  const tables = generationTables(projection, (generation += 1));
  for (const statement of ddl(projection, tables)) await db.query(statement);
  return tables;
};

const snapshot = async (db: Database, tables: Tables, orderBy: Readonly<Record<string, string>>): Promise<Rows> => {
  const rows: Rows = {};
  for (const [name, physical] of Object.entries(tables)) {
    const order = orderBy[name];
    if (!order) throw new Error(`no ORDER BY given for table ${name}`);
    rows[name] = (await db.query(`SELECT * FROM ${physical} ORDER BY ${order}`)).rows;
  }
  return JSON.parse(JSON.stringify(rows)) as Rows;
};

export type ApplyTwiceOptions = {
  /**
   * Also apply each event again on its own after the whole sequence, where an older event must not
   * overwrite a newer row (revision guards, insert-if-absent, first-wins). Default true; a read model
   * that deletes rows without a tombstone cannot promise it.
   */
  readonly lateEvents?: boolean;
};

/**
 * Applies `events` once in one batch on fresh tables and returns the rows, after checking that these
 * leave the same rows: every suffix of the sequence applied again (a runner resuming from any older
 * checkpoint), the whole sequence again one event per batch (another batch split), each event again on
 * its own (see ApplyTwiceOptions), and, on fresh tables, every event applied twice in a row.
 */
export const applyTwice = async (
  db: Database,
  projection: Projection,
  events: readonly RecordedEvent[],
  orderBy: Readonly<Record<string, string>>,
  { lateEvents = true }: ApplyTwiceOptions = {},
): Promise<Rows> => {
  const tables = await freshTables(db, projection);
  await applyStatements(db, statementsFor(projection, events, tables));
  const once = await snapshot(db, tables, orderBy);

  for (let from = events.length - 1; from >= 0; from -= 1) {
    await applyStatements(db, statementsFor(projection, events.slice(from), tables));
    assert.equal(await snapshot(db, tables, orderBy), once, `events ${from}… applied again`);
  }
  for (const event of events) await applyStatements(db, statementsFor(projection, [event], tables));
  assert.equal(await snapshot(db, tables, orderBy), once, 'the sequence applied again, one event per batch');
  if (lateEvents)
    for (const [index, event] of events.entries()) {
      await applyStatements(db, statementsFor(projection, [event], tables));
      assert.equal(await snapshot(db, tables, orderBy), once, `event ${index} (${event.type}) applied again alone`);
    }

  const doubled = await freshTables(db, projection);
  for (const event of events) await applyStatements(db, statementsFor(projection, [event, event], doubled));
  assert.equal(await snapshot(db, doubled, orderBy), once, 'every event applied twice in a row');
  return once;
};
