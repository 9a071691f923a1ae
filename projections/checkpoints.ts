// Rows of projection_checkpoints: one per projection (its live position) and one `<name>@rebuild` while
// a rebuild runs (the rebuild's own position, so a killed rebuild resumes where it committed last).
import { prepared, type Queryable } from '../db/database.ts';
import type { GlobalPosition } from '../eventstore/port.ts';

/** A rebuild's progress, kept in its checkpoint row so every instance and the CLI can show it. */
export type RebuildProgress = {
  projection: string;
  generation: number;
  handled: number;
  /** Estimate: events the live projection had seen when the rebuild started, plus what arrived since. */
  total: number;
  eventsPerSecond: number;
  etaSeconds: number | undefined;
  startedAt: string;
  done: boolean;
};

export type Checkpoint = {
  name: string;
  position: GlobalPosition;
  eventsHandled: number;
  status: string;
  version: number;
  generation: number;
  lastError: string | undefined;
  failedEventId: string | undefined;
  rebuild: RebuildProgress | undefined;
  updatedAt: Date;
};

type Row = {
  name: string;
  position_commit: string;
  position_prepare: string;
  events_handled: string;
  status: string;
  version: number;
  generation: number;
  last_error: string | null;
  failed_event_id: string | null;
  rebuild: RebuildProgress | null;
  updated_at: Date;
};

const toCheckpoint = (row: Row): Checkpoint => ({
  name: row.name,
  position: { commit: BigInt(row.position_commit), prepare: BigInt(row.position_prepare) },
  eventsHandled: Number(row.events_handled),
  status: row.status,
  version: row.version,
  generation: row.generation,
  lastError: row.last_error ?? undefined,
  failedEventId: row.failed_event_id ?? undefined,
  rebuild: row.rebuild ?? undefined,
  updatedAt: row.updated_at,
});

/** The checkpoint rows of `names`, by name, in one query. */
export const readCheckpoints = async (db: Queryable, names: readonly string[]): Promise<Map<string, Checkpoint>> => {
  const result = await db.query<Row>(
    `SELECT name, position_commit::text, position_prepare::text, events_handled::text, status, version, generation,
            last_error, failed_event_id::text, rebuild, updated_at
       FROM projection_checkpoints WHERE name = ANY($1)`,
    [names],
  );
  return new Map(result.rows.map((row) => [row.name, toCheckpoint(row)]));
};

export const readCheckpoint = async (db: Queryable, name: string): Promise<Checkpoint | undefined> =>
  (await readCheckpoints(db, [name])).get(name);

const ADVANCE = `UPDATE projection_checkpoints
    SET position_commit = $2, position_prepare = $3, events_handled = events_handled + $4, updated_at = now()
  WHERE name = $1`;
// Prepared: every live batch of every projection ends with one of these.
const ADVANCE_ANY = prepared(ADVANCE);
const ADVANCE_IF = prepared(
  `${ADVANCE} AND status = 'running' AND generation = $5 AND position_commit = $6 AND position_prepare = $7`,
);

/** advanceTo (without a guard) as a statement, for a batch sent as one query. */
export const advanceStatement = (name: string, to: GlobalPosition, count: number) => ({
  sql: ADVANCE,
  params: [name, String(to.commit), String(to.prepare), count],
});

/**
 * Moves a checkpoint to `to`, counting `count` more events (inside the batch's transaction). With
 * `expected`, only if the row is still running at that generation and position (rowCount tells).
 */
export const advanceTo = (
  tx: Queryable,
  name: string,
  to: GlobalPosition,
  count: number,
  expected?: { generation: number; position: GlobalPosition },
) =>
  tx.query(expected ? ADVANCE_IF : ADVANCE_ANY, [
    name,
    String(to.commit),
    String(to.prepare),
    count,
    ...(expected ? [expected.generation, String(expected.position.commit), String(expected.position.prepare)] : []),
  ]);
