// Blue/green rebuild: replay the whole log into fresh tables (`name__gN`), each batch with the rebuild's
// own checkpoint in one transaction (a killed rebuild resumes), then swap the tables in one transaction.
import type { Logger } from 'pino';
import type { Database, Queryable } from '../db/database.ts';
import { comparePositions, START, type EventLog, type GlobalPosition, type RecordedEvent } from '../eventstore/port.ts';
import { readCheckpoint, type RebuildProgress } from './checkpoints.ts';
import { generationTables, inline, splitDdl, statementsFor, TypedPage, type Projection, type Tables } from './sql.ts';
import { COPY_MIN_ROWS, hasUnkeyed, pushTexts, runTexts, toBatch, type Texts } from './batch.ts';
import { SharedPages } from './pages.ts';
import { toStorableText } from '../eventstore/storable.ts';

export type { RebuildProgress } from './checkpoints.ts';

export class RebuildBusyError extends Error {
  constructor(name: string) {
    super(`a rebuild of ${name} is already running`);
    this.name = 'RebuildBusyError';
  }
}

/** One projection's share of a rebuild: its fresh tables and where its own checkpoint stands. */
type Job = {
  projection: Projection;
  rebuildName: string;
  generation: number;
  tables: Tables;
  position: GlobalPosition;
  handled: number;
  startHandled: number;
  liveHandled: number;
  /** Secondary indexes built after the load: maintaining them row by row cost more than building them. */
  indexes: string[];
  indexed: boolean;
};

/**
 * Events per page of a rebuild. Each page costs every projection a transaction, its statements' parse and
 * plan and a checkpoint: larger pages than 2,000 cut PostgreSQL's CPU per event by a fifth. A page and
 * the next (read ahead) are held in memory.
 */
export const REBUILD_PAGE = 10_000;

const lockName = (projection: Projection) => `remotemcp:rebuild:${projection.name}`;

/** Starts a fresh generation (empty tables) or resumes the one a killed rebuild left. */
const prepare = async (db: Database, projection: Projection, logger: Logger): Promise<Job> => {
  const rebuildName = `${projection.name}@rebuild`;
  const live = await readCheckpoint(db, projection.name);
  if (!live) throw new Error(`projection ${projection.name} is not set up`);
  let state = await readCheckpoint(db, rebuildName);
  if (!state || state.status !== 'rebuilding') {
    // A fresh generation: drop leftovers of a failed attempt, create empty tables.
    const generation = Math.max(live.generation, state?.generation ?? 0) + 1;
    const tables = generationTables(projection, generation);
    await db.transaction(async (tx) => {
      for (const table of Object.values(tables)) await tx.query(`DROP TABLE IF EXISTS ${table}`);
      const { tables: create, indexes } = splitDdl(projection, tables);
      for (const statement of create) await tx.query(statement);
      if (projection.rebuildNeedsIndexes) for (const statement of indexes) await tx.query(statement);
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
  return {
    projection,
    rebuildName,
    generation: state!.generation,
    tables: generationTables(projection, state!.generation),
    position: state!.position,
    handled: state!.eventsHandled,
    startHandled: state!.eventsHandled,
    liveHandled: live.eventsHandled,
    indexes: splitDdl(projection, generationTables(projection, state!.generation)).indexes,
    indexed: projection.rebuildNeedsIndexes === true,
  };
};

const buildIndexes = async (tx: Queryable, job: Job) => {
  if (job.indexed) return;
  for (const statement of job.indexes) await tx.query(statement);
  job.indexed = true;
};

/** Swaps the fresh tables in. The live runner locks the same row for every batch, so it waits, then
 * sees the moved checkpoint and continues from the rebuild's position on the new tables. */
const swap = (db: Database, job: Job) =>
  db.transaction(async (tx) => {
    const { projection } = job;
    await buildIndexes(tx, job);
    await tx.query('SELECT 1 FROM projection_checkpoints WHERE name = $1 FOR UPDATE', [projection.name]);
    for (const [logical, physical] of Object.entries(job.tables)) {
      await tx.query(`DROP TABLE IF EXISTS ${logical}`);
      await tx.query(`ALTER TABLE ${physical} RENAME TO ${logical}`);
    }
    await tx.query(
      `UPDATE projection_checkpoints SET position_commit = $2, position_prepare = $3, events_handled = $4, status = 'running',
         version = $5, generation = $6, last_error = NULL, failed_event_id = NULL, updated_at = now() WHERE name = $1`,
      [
        projection.name,
        String(job.position.commit),
        String(job.position.prepare),
        job.handled,
        projection.version,
        job.generation,
      ],
    );
    await tx.query('DELETE FROM projection_checkpoints WHERE name = $1', [job.rebuildName]);
  });

/** Every promise settled, then the first failure thrown: nothing still runs when the caller handles it. */
const allOrFirstError = async <T>(promises: readonly Promise<T>[]): Promise<T[]> => {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<T>).value);
};

/** The events of a page past the job's checkpoint (all of them, but on the first page after a resume). */
const pastOf = (job: Job, page: readonly RecordedEvent[]): readonly RecordedEvent[] =>
  page.length > 0 && comparePositions(page[0]!.position, job.position) > 0
    ? page
    : page.filter((event) => comparePositions(event.position, job.position) > 0);

/** One UPDATE moving the rebuild checkpoints of a page's projections, with the progress they show. */
const checkpointsSql = (
  moves: readonly { job: Job; events: readonly RecordedEvent[]; progress: RebuildProgress }[],
) => {
  const params: unknown[] = [];
  const rows = moves.map(({ job, events, progress }) => {
    const to = events[events.length - 1]!.position;
    const n = params.push(
      job.rebuildName,
      String(to.commit),
      String(to.prepare),
      events.length,
      JSON.stringify(progress),
    );
    return `($${n - 4}, $${n - 3}::bigint, $${n - 2}::bigint, $${n - 1}::bigint, $${n}::jsonb)`;
  });
  return inline({
    sql: `UPDATE projection_checkpoints AS c SET position_commit = v.commit, position_prepare = v.prepare,
            events_handled = c.events_handled + v.count, rebuild = v.progress, updated_at = now()
          FROM (VALUES ${rows.join(', ')}) AS v(name, commit, prepare, count, progress) WHERE c.name = v.name`,
    params,
  });
};

/**
 * Rebuilds several projections from one read of the log: each page is read once and applied to every
 * projection, each in its own transaction with its own checkpoint (so a killed rebuild resumes each
 * where it committed last; their positions may then differ, and each takes only what is past its own).
 * The projections' transactions of a page run side by side on the pool. Reading N projections' worth of
 * the log N times cost more than applying it.
 */
export const rebuildProjections = async (
  db: Database,
  log: EventLog,
  projections: readonly Projection[],
  logger: Logger,
  onProgress: (progress: RebuildProgress) => void,
  batchSize = REBUILD_PAGE,
): Promise<RebuildProgress[]> => {
  // One rebuild per projection at a time, across processes (the CLI and a server on one database).
  const lock = await db.connect();
  const held: Projection[] = [];
  try {
    for (const projection of projections) {
      const got = await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [
        lockName(projection),
      ]);
      if (!got.rows[0]?.ok) throw new RebuildBusyError(projection.name);
      held.push(projection);
    }
    // Each projection's tables and checkpoint are its own: their setup and swap run side by side on a
    // server's pool (a tenth of a rebuild was spent on index builds and DDL one projection after another).
    const jobs = await allOrFirstError(projections.map((projection) => prepare(db, projection, logger)));
    const startedAt = new Date();
    const progress = (job: Job, done: boolean): RebuildProgress => {
      const seconds = Math.max(0.001, (Date.now() - startedAt.getTime()) / 1_000);
      const eventsPerSecond = Math.round((job.handled - job.startHandled) / seconds);
      const total = Math.max(job.handled, job.liveHandled);
      return {
        projection: job.projection.name,
        generation: job.generation,
        handled: job.handled,
        total,
        eventsPerSecond,
        etaSeconds: done ? 0 : eventsPerSecond > 0 ? Math.ceil((total - job.handled) / eventsPerSecond) : undefined,
        startedAt: startedAt.toISOString(),
        done,
      };
    };
    /**
     * One page into a group of projections: their statements, checkpoints and progress in one transaction,
     * sent as one simple-protocol query when it fits (its statements run as one implicit transaction), so
     * a page costs the group one round trip. A killed rebuild resumes each projection where it committed.
     */
    const apply = async (group: readonly Job[], page: readonly RecordedEvent[]) => {
      const work = group.map((job) => ({ job, events: pastOf(job, page) })).filter(({ events }) => events.length > 0);
      if (work.length === 0) return;
      const texts: Texts = { texts: [], copies: [] };
      const indexed: Job[] = [];
      for (const { job, events } of work) {
        // The whole page (all but the first page of a resumed job): its events by type, numbered once.
        const read = events === page ? typedPage(page).of(job.projection) : events;
        const statements = statementsFor(job.projection, read, job.tables);
        // A statement over many rows (an erasure, a revocation) finds them by an index: build them first.
        if (!job.indexed && hasUnkeyed(statements)) {
          texts.texts.push(...job.indexes);
          indexed.push(job);
        }
        // A server's set-based rows come by COPY; PGlite's as array literals in the text.
        pushTexts(texts, toBatch(statements, db.embedded ? Infinity : COPY_MIN_ROWS));
      }
      texts.texts.push(
        checkpointsSql(work.map(({ job, events }) => ({ job, events, progress: progress(job, false) }))),
      );
      await runTexts(db, texts);
      for (const job of indexed) job.indexed = true;
      for (const { job, events } of work) {
        job.position = events[events.length - 1]!.position;
        job.handled += events.length;
        onProgress(progress(job, false));
      }
    };
    // One per page, for all the groups that apply it.
    const typedPages = new WeakMap<readonly RecordedEvent[], TypedPage>();
    const typedPage = (page: readonly RecordedEvent[]): TypedPage => {
      let typed = typedPages.get(page);
      if (typed === undefined) typedPages.set(page, (typed = new TypedPage(page)));
      return typed;
    };
    // PGlite runs every statement on node's one thread: a round trip per projection is pure cost, so one
    // transaction takes them all. A server's backends run side by side: one transaction each, in parallel.
    const groups = db.embedded ? [jobs] : jobs.map((job) => [job]);
    try {
      const from = jobs.reduce<GlobalPosition>(
        (min, job) => (comparePositions(job.position, min) < 0 ? job.position : min),
        jobs[0]?.position ?? START,
      );
      // Events no projection here reads only move the checkpoints: their data need not be decoded.
      const dataOf = [...new Set(jobs.flatMap((job) => job.projection.eventTypes))];
      // Likewise metadata, which only a few projections read (PostgreSQL's jsonb output and node's parse).
      const metadataOf = [
        ...new Set(jobs.flatMap((job) => (job.projection.readsMetadata ? job.projection.eventTypes : []))),
      ];
      const read = (after: GlobalPosition | undefined) =>
        log.readAll({ ...(after ? { after } : {}), maxCount: batchSize, dataOf, metadataOf });
      const pages = new SharedPages(
        (after) => read(after ?? (comparePositions(from, START) > 0 ? from : undefined)),
        batchSize,
        groups.length,
      );
      // Each group goes through the pages at its own pace; the first failure stops the others.
      await allOrFirstError(
        groups.map(async (group) => {
          try {
            for (let index = 0; ; index += 1) {
              const events = await pages.page(index);
              if (events.length === 0) break;
              await apply(group, events);
              pages.done(index);
              if (events.length < batchSize) break;
            }
          } catch (error) {
            pages.stop();
            throw error;
          }
        }),
      );
      await allOrFirstError(jobs.map((job) => swap(db, job)));
    } catch (error) {
      await db.query(
        `UPDATE projection_checkpoints SET status = 'failed', last_error = $2, updated_at = now()
          WHERE name = ANY($1) AND status = 'rebuilding'`,
        [jobs.map((job) => job.rebuildName), toStorableText(error instanceof Error ? error.message : String(error))],
      );
      throw error;
    }
    return jobs.map((job) => {
      const finished = progress(job, true);
      onProgress(finished);
      logger.info(
        { projection: job.projection.name, events: job.handled, eventsPerSecond: finished.eventsPerSecond },
        'projection rebuilt',
      );
      return finished;
    });
  } finally {
    for (const projection of held) {
      await lock.query('SELECT pg_advisory_unlock(hashtext($1))', [lockName(projection)]).catch(() => undefined);
    }
    lock.release();
  }
};

/** Rebuilds one projection into fresh tables, then swaps them in (see rebuildProjections). */
export const rebuildProjection = async (
  db: Database,
  log: EventLog,
  projection: Projection,
  logger: Logger,
  onProgress: (progress: RebuildProgress) => void,
  batchSize = REBUILD_PAGE,
): Promise<RebuildProgress> => (await rebuildProjections(db, log, [projection], logger, onProgress, batchSize))[0]!;
