// Following the log live as a projection's leader: each batch's statements and its checkpoint commit
// together (exactly once), guarded against a checkpoint that someone else moved.
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import { comparePositions, START, type EventLog, type GlobalPosition, type RecordedEvent } from '../eventstore/port.ts';
import { toStorableText } from '../eventstore/storable.ts';
import { advanceStatement, advanceTo, readCheckpoint, type Checkpoint } from './checkpoints.ts';
import {
  applyStatements,
  liveTables,
  STATEMENTS_PER_QUERY,
  statementsFor,
  type Projection,
  type Statement,
} from './sql.ts';
import { toBatch } from './batch.ts';

/**
 * How long a position that only passed irrelevant events may wait before it is written. Each write is a
 * commit per projection: at 250 ms a dozen read models cost ~50 commits a second on an idle server,
 * more than the token requests of a busy one. This instance's waitFor sees positions at once; only
 * another instance waiting on a read model for an event it ignores waits up to this long.
 */
export const CHECKPOINT_FLUSH_MS = 1_000;

/**
 * A live batch of at least this many statements goes in its set-based form (batch.ts, as a rebuild's
 * pages do): one statement per kind of row, which PostgreSQL parses and plans once, instead of one per
 * event. A smaller one stays as it is: a set of one row costs more than the plain statement.
 */
export const LIVE_SET_MIN = 8;

/** The checkpoint is not where this leader left it (a rebuild swapped tables in, or another leader ran). */
export class StaleCheckpoint extends Error {}
/** The SQLSTATE the live batch's guard (projection_guard, a migration) raises when the checkpoint moved. */
const STALE_CHECKPOINT = 'RM409';

/** The error came from the projection itself (it will fail again), not from a lost connection. */
const isDeterministic = (error: unknown): boolean => {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string')
    return !(error instanceof Error && /connect|terminat|ECONN|timeout|closed/i.test(error.message));
  return !/^(08|57P|53)/.test(code) && !/^E[A-Z]+$/.test(code);
};

type Expected = { position: GlobalPosition; generation: number };

/** Applies statements and moves the checkpoint to `to` in one transaction, if the row is still where we left it. */
export const applyLive = async (
  db: Database,
  projection: Projection,
  statements: readonly Statement[],
  expected: Expected,
  to: GlobalPosition,
  count: number,
): Promise<void> => {
  if (statements.length === 0) {
    // Only the position moves: one guarded UPDATE (the same checks as below, without a transaction).
    const moved = await advanceTo(db, projection.name, to, count, expected);
    if (moved.rowCount !== 1) throw new StaleCheckpoint();
    return;
  }
  // The guard leads the batch: it locks our checkpoint row and raises when a rebuild's swap or another
  // instance moved it, which rolls the whole batch back.
  const guard = {
    // projection_guard (migrations/0004) raises STALE_CHECKPOINT when the row is not where we left it.
    sql: 'SELECT projection_guard($1, $2, $3, $4)',
    params: [projection.name, expected.generation, String(expected.position.commit), String(expected.position.prepare)],
  };
  const batch = [guard, ...statements, advanceStatement(projection.name, to, count)];
  try {
    // The statements of one simple-protocol query run as one implicit transaction (PostgreSQL
    // protocol, "Multiple Statements in a Simple Query"): a batch that fits in one query is one round
    // trip; a larger one needs a transaction around its queries.
    if (batch.length <= STATEMENTS_PER_QUERY) await applyStatements(db, batch);
    else await db.transaction((tx) => applyStatements(tx, batch));
  } catch (error) {
    if ((error as { code?: string }).code === STALE_CHECKPOINT) throw new StaleCheckpoint();
    throw error;
  }
};

export type FollowContext = {
  readonly db: Database;
  readonly log: EventLog;
  readonly logger: Logger;
  readonly batchSize: number;
  /** The projection has processed up to `position` (written or not). */
  readonly onPosition: (position: GlobalPosition) => void;
  /** Waits, or less when the runner stops. */
  readonly sleep: (ms: number) => Promise<void>;
  /** The projection has stopped on an error (status `failed`). */
  readonly onFailed: () => void;
};

/**
 * A stop on a deterministic error: finds the event that fails alone (the events before it are applied),
 * so the error names it, and marks the projection failed. Other errors (a lost connection) only pause.
 */
export const recordFailure = async (ctx: FollowContext, projection: Projection, error: unknown): Promise<void> => {
  if (!isDeterministic(error)) {
    ctx.logger.warn(
      { projection: projection.name, err: (error as Error).message },
      'projection paused by a database error; will retry',
    );
    await ctx.sleep(1_000);
    return;
  }
  let failed: RecordedEvent | undefined;
  const checkpoint = await readCheckpoint(ctx.db, projection.name);
  if (checkpoint) {
    const events = await ctx.log.readAll({ after: checkpoint.position, maxCount: ctx.batchSize });
    let expected = { position: checkpoint.position, generation: checkpoint.generation };
    for (const event of events) {
      try {
        const statements = statementsFor(projection, [event], liveTables(projection));
        await applyLive(ctx.db, projection, statements, expected, event.position, 1);
        expected = { position: event.position, generation: expected.generation };
      } catch (inner) {
        if (inner instanceof StaleCheckpoint) return;
        failed = event;
        error = inner;
        break;
      }
    }
  }
  const message = error instanceof Error ? error.message : String(error);
  ctx.logger.error(
    { projection: projection.name, eventId: failed?.id, eventType: failed?.type, err: message },
    'projection stopped on an event',
  );
  await ctx.db.query(
    `UPDATE projection_checkpoints SET status = 'failed', last_error = $2, failed_event_id = $3, updated_at = now() WHERE name = $1`,
    // (An error message may quote the event's text.)
    [projection.name, toStorableText(message), failed?.id ?? null],
  );
  ctx.onFailed();
};

type Delivery = { events: RecordedEvent[]; done: () => void } | { error: unknown };

/**
 * The subscription's batches as a queue this side takes from at its own pace: the subscription's next
 * batch waits until the previous one is done. Once closed, deliveries are let through unread.
 */
class Inbox {
  private readonly items: Delivery[] = [];
  private wake: (() => void) | undefined;
  private closed = false;

  put(delivery: Delivery): void {
    if (this.closed) {
      if ('done' in delivery) delivery.done();
      return;
    }
    this.items.push(delivery);
    this.wake?.();
  }

  /** The next delivery, or `timeout` after ms (when given), or the value of the first interrupt to settle. */
  async take<T>(ms: number | undefined, interrupt: Promise<T>): Promise<Delivery | 'timeout' | T> {
    if (this.items.length === 0) {
      let timer: NodeJS.Timeout | undefined;
      const arrived = new Promise<void>((resolve) => (this.wake = resolve));
      const timedOut =
        ms === undefined
          ? undefined
          : new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, ms, 'timeout')));
      const first = await Promise.race([arrived, interrupt, ...(timedOut ? [timedOut] : [])]);
      clearTimeout(timer);
      this.wake = undefined;
      if (first !== undefined) return first as 'timeout' | T;
    }
    return this.items.shift()!;
  }

  close(): void {
    this.closed = true;
    for (const item of this.items.splice(0)) if ('done' in item) item.done();
  }
}

/**
 * Follows the log from `start` until told to stop (resolves 'ended', after writing a lazily kept
 * position), leadership is lost ('lost'), the checkpoint moved under us, or the projection failed
 * ('ended'). Batches with nothing for this projection open no transaction: the position moves in memory
 * and is written at most every CHECKPOINT_FLUSH_MS (re-reading those events after a crash changes
 * nothing).
 */
export const follow = async (
  ctx: FollowContext,
  projection: Projection,
  start: Checkpoint,
  signals: { stop: Promise<void>; lost: Promise<void> },
): Promise<'ended' | 'lost'> => {
  const inbox = new Inbox();
  const subscription = ctx.log.subscribeAll({
    ...(comparePositions(start.position, START) > 0 ? { after: start.position } : {}),
    batchSize: ctx.batchSize,
    onEvents: (events) => new Promise<void>((done) => inbox.put({ events, done })),
    onError: (error) => inbox.put({ error }),
  });
  let signal: 'stop' | 'lost' | undefined;
  const interrupt = Promise.race([signals.stop.then(() => 'stop' as const), signals.lost.then(() => 'lost' as const)]);
  void interrupt.then((value) => (signal = value));
  // The live tables' names, made once: every batch, relevant or not, asked for them (an object per batch
  // for each of a dozen projections).
  const tables = liveTables(projection);
  let persisted: Expected = { position: start.position, generation: start.generation };
  let skipped: { last: GlobalPosition; count: number; since: number } | undefined;
  const write = async (statements: Statement[], to: GlobalPosition, count: number) => {
    await applyLive(ctx.db, projection, statements, persisted, to, count);
    persisted = { position: to, generation: persisted.generation };
    skipped = undefined;
  };
  const flush = async () => {
    if (skipped) await write([], skipped.last, skipped.count);
  };
  try {
    for (;;) {
      const wait = skipped ? Math.max(0, skipped.since + CHECKPOINT_FLUSH_MS - Date.now()) : undefined;
      // A stop or a lost leadership comes before any batch still waiting.
      const next = signal ?? (await inbox.take(wait, interrupt));
      if (next === 'lost') return 'lost';
      if (next === 'stop') {
        await flush();
        return 'ended';
      }
      if (next === 'timeout') {
        await flush();
        continue;
      }
      if ('error' in next) throw next.error;
      try {
        const { events } = next;
        const last = events[events.length - 1]!.position;
        const each = statementsFor(projection, events, tables);
        const statements = each.length >= LIVE_SET_MIN ? toBatch(each) : each;
        if (statements.length === 0) {
          skipped = { last, count: (skipped?.count ?? 0) + events.length, since: skipped?.since ?? Date.now() };
        } else {
          await write(statements, last, events.length + (skipped?.count ?? 0));
        }
        ctx.onPosition(last);
      } finally {
        next.done();
      }
    }
  } catch (error) {
    if (!(error instanceof StaleCheckpoint)) await recordFailure(ctx, projection, error);
    return 'ended';
  } finally {
    inbox.close();
    await subscription.close();
  }
};
