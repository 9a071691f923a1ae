// Blue/green rebuild: replay the whole log into fresh tables (`name__gN`), each batch with the rebuild's
// own checkpoint in one transaction (a killed rebuild resumes), then swap the tables in one transaction.
import type { Logger } from '../app/logger.ts';
import type { Database } from '../db/database.ts';
import { comparePositions, START, type EventLog } from '../eventstore/port.ts';
import { advanceTo, readCheckpoint, type RebuildProgress } from './checkpoints.ts';
import { applyStatements, ddl, generationTables, statementsFor, type Projection } from './sql.ts';
import { toStorableText } from '../eventstore/storable.ts';

export type { RebuildProgress } from './checkpoints.ts';

export class RebuildBusyError extends Error {
  constructor(name: string) {
    super(`a rebuild of ${name} is already running`);
    this.name = 'RebuildBusyError';
  }
}

export const rebuildProjection = async (
  db: Database,
  log: EventLog,
  projection: Projection,
  logger: Logger,
  onProgress: (progress: RebuildProgress) => void,
  batchSize = 2_000,
): Promise<RebuildProgress> => {
  const rebuildName = `${projection.name}@rebuild`;
  // One rebuild per projection at a time, across processes (the CLI and a server on one database).
  const lock = await db.connect();
  try {
    const got = await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [
      `remotemcp:rebuild:${projection.name}`,
    ]);
    if (!got.rows[0]?.ok) throw new RebuildBusyError(projection.name);
    try {
      const live = await readCheckpoint(db, projection.name);
      if (!live) throw new Error(`projection ${projection.name} is not set up`);
      let state = await readCheckpoint(db, rebuildName);
      if (!state || state.status !== 'rebuilding') {
        // A fresh generation: drop leftovers of a failed attempt, create empty tables.
        const generation = Math.max(live.generation, state?.generation ?? 0) + 1;
        const tables = generationTables(projection, generation);
        await db.transaction(async (tx) => {
          for (const table of Object.values(tables)) await tx.query(`DROP TABLE IF EXISTS ${table}`);
          for (const statement of ddl(projection, tables)) await tx.query(statement);
          await tx.query(
            `INSERT INTO projection_checkpoints (name, status, version, generation, rebuild)
             VALUES ($1, 'rebuilding', $2, $3, NULL)
             ON CONFLICT (name) DO UPDATE SET position_commit = 0, position_prepare = 0, events_handled = 0, status = 'rebuilding',
               version = $2, generation = $3, last_error = NULL, failed_event_id = NULL, rebuild = NULL, updated_at = now()`,
            [rebuildName, projection.version, generation],
          );
        });
        state = await readCheckpoint(db, rebuildName);
      } else {
        logger.info({ projection: projection.name, generation: state.generation }, 'resuming rebuild');
      }
      const generation = state!.generation;
      const tables = generationTables(projection, generation);
      let position = state!.position;
      let handled = state!.eventsHandled;
      const startedAt = new Date();
      const startHandled = handled;
      const progress = (done: boolean, extra = 0): RebuildProgress => {
        const seconds = Math.max(0.001, (Date.now() - startedAt.getTime()) / 1_000);
        const eventsPerSecond = Math.round((handled - startHandled) / seconds);
        const total = Math.max(handled, live.eventsHandled + extra);
        return {
          projection: projection.name,
          generation,
          handled,
          total,
          eventsPerSecond,
          etaSeconds: done ? 0 : eventsPerSecond > 0 ? Math.ceil((total - handled) / eventsPerSecond) : undefined,
          startedAt: startedAt.toISOString(),
          done,
        };
      };
      try {
        const read = (after: typeof position) =>
          log.readAll(comparePositions(after, START) > 0 ? { after, maxCount: batchSize } : { maxCount: batchSize });
        // Read the next page while the current one is applied: a rebuild costs max(read, apply), not the sum.
        let next = read(position);
        for (;;) {
          const events = await next;
          if (events.length === 0) break;
          next = events.length < batchSize ? Promise.resolve([]) : read(events[events.length - 1]!.position);
          // A failed apply must not leave the prefetch's rejection unhandled.
          next.catch(() => undefined);
          const current = progress(false);
          await db.transaction(async (tx) => {
            await applyStatements(tx, statementsFor(projection, events, tables));
            await advanceTo(tx, rebuildName, events[events.length - 1]!.position, events.length);
            await tx.query('UPDATE projection_checkpoints SET rebuild = $2 WHERE name = $1', [
              rebuildName,
              JSON.stringify(current),
            ]);
          });
          position = events[events.length - 1]!.position;
          handled += events.length;
          onProgress(progress(false));
          if (events.length < batchSize) break;
        }
        // Swap: the live runner locks the same row for every batch, so it waits, then sees the moved
        // checkpoint and continues from the rebuild's position on the new tables.
        await db.transaction(async (tx) => {
          await tx.query('SELECT 1 FROM projection_checkpoints WHERE name = $1 FOR UPDATE', [projection.name]);
          for (const [logical, physical] of Object.entries(tables)) {
            await tx.query(`DROP TABLE IF EXISTS ${logical}`);
            await tx.query(`ALTER TABLE ${physical} RENAME TO ${logical}`);
          }
          await tx.query(
            `UPDATE projection_checkpoints SET position_commit = $2, position_prepare = $3, events_handled = $4, status = 'running',
               version = $5, generation = $6, last_error = NULL, failed_event_id = NULL, updated_at = now() WHERE name = $1`,
            [
              projection.name,
              String(position.commit),
              String(position.prepare),
              handled,
              projection.version,
              generation,
            ],
          );
          await tx.query('DELETE FROM projection_checkpoints WHERE name = $1', [rebuildName]);
        });
      } catch (error) {
        await db.query(
          `UPDATE projection_checkpoints SET status = 'failed', last_error = $2, updated_at = now() WHERE name = $1`,
          [rebuildName, toStorableText(error instanceof Error ? error.message : String(error))],
        );
        throw error;
      }
      const finished = progress(true);
      onProgress(finished);
      logger.info(
        { projection: projection.name, events: handled, eventsPerSecond: finished.eventsPerSecond },
        'projection rebuilt',
      );
      return finished;
    } finally {
      await lock
        .query('SELECT pg_advisory_unlock(hashtext($1))', [`remotemcp:rebuild:${projection.name}`])
        .catch(() => undefined);
    }
  } finally {
    lock.release();
  }
};
