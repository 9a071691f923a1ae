// Runs projections: catch-up then live, each batch and its checkpoint in one transaction (exactly once),
// one active runner per projection across instances (session advisory lock), blue/green rebuilds.
import { EventEmitter } from 'node:events';
import type pg from 'pg';
import type { Logger } from '../app/logger.ts';
import type { Database, Queryable } from '../db/database.ts';
import {
  comparePositions,
  START,
  type EventLog,
  type GlobalPosition,
  type RecordedEvent,
  type Subscription,
} from '../eventstore/port.ts';
import { RebuildBusyError, rebuildProjections, type RebuildProgress } from './rebuild.ts';
import {
  applyStatements,
  ddl,
  liveTables,
  STATEMENTS_PER_QUERY,
  statementsFor,
  type Projection,
  type Statement,
} from './sql.ts';
import { advanceStatement, advanceTo, readCheckpoint, readCheckpoints, type Checkpoint } from './checkpoints.ts';
import { toStorableText } from '../eventstore/storable.ts';

export type ProjectionStatus = {
  name: string;
  status: string;
  position: GlobalPosition;
  eventsHandled: number;
  lagEvents: number;
  lagSeconds: number;
  lastError: string | undefined;
  failedEventId: string | undefined;
  updatedAt: Date;
  rebuild: RebuildProgress | undefined;
};

export class ProjectionFailedError extends Error {
  constructor(
    readonly projection: string,
    detail: string,
  ) {
    super(`projection ${projection} has stopped: ${detail}`);
    this.name = 'ProjectionFailedError';
  }
}

/** The error came from the projection itself (it will fail again), not from a lost connection. */
const isDeterministic = (error: unknown): boolean => {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string')
    return !(error instanceof Error && /connect|terminat|ECONN|timeout|closed/i.test(error.message));
  return !/^(08|57P|53)/.test(code) && !/^E[A-Z]+$/.test(code);
};

/** How long a position that only passed irrelevant events may wait before it is written. */
export const CHECKPOINT_FLUSH_MS = 250;
/** /readyz tolerates this much projection lag under constant traffic (another instance's leader writes lazily). */
export const READY_LAG_SECONDS = 5;
/** Lag is counted up to this many events. */
const LAG_CAP = 10_000;

/** Ready: running, and caught up or less than READY_LAG_SECONDS behind (used by /readyz and caughtUp). */
export const isCaughtUp = (status: ProjectionStatus): boolean =>
  status.status === 'running' && (status.lagEvents === 0 || status.lagSeconds < READY_LAG_SECONDS);

export const lockKey = (name: string) => `remotemcp:projection:${name}`;

class StaleCheckpoint extends Error {}
/** The SQLSTATE a live batch's guard raises when the checkpoint is not where the batch expects it. */
const STALE_CHECKPOINT = 'RM409';

export class ProjectionRunner {
  private readonly emitter = new EventEmitter();
  private readonly positions = new Map<string, GlobalPosition>();
  private readonly live = new Map<string, { subscription?: Subscription | undefined }>();
  private readonly rebuilds = new Map<string, RebuildProgress>();
  private stopped = false;
  private readonly leaders: Promise<void>[] = [];

  constructor(
    private readonly db: Database,
    private readonly log: EventLog,
    readonly projections: readonly Projection[],
    private readonly logger: Logger,
    private readonly options: { batchSize?: number; lockRetryMs?: number } = {},
  ) {
    this.emitter.setMaxListeners(0);
  }

  private projection(name: string): Projection {
    const projection = this.projections.find((p) => p.name === name);
    if (!projection)
      throw new Error(`unknown projection "${name}" (known: ${this.projections.map((p) => p.name).join(', ')})`);
    return projection;
  }

  /** Creates missing tables and checkpoint rows (first start, or a projection added later). */
  async setup(): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('remotemcp:projection-setup'))`);
      for (const projection of this.projections) {
        const existing = await tx.query('SELECT 1 FROM projection_checkpoints WHERE name = $1', [projection.name]);
        if (existing.rowCount) continue;
        for (const statement of ddl(projection, liveTables(projection))) await tx.query(statement);
        await tx.query('INSERT INTO projection_checkpoints (name, version, generation) VALUES ($1, $2, 0)', [
          projection.name,
          projection.version,
        ]);
      }
    });
  }

  /** Starts every projection's live loop (each waits for its lock when another instance holds it). */
  async start(): Promise<void> {
    await this.setup();
    for (const projection of this.projections) this.leaders.push(this.lead(projection));
  }

  /**
   * One connection holds the session advisory locks of every projection this instance leads (a pool
   * connection per projection would pin most of the pool). If it drops, all leaderships end together.
   */
  private lockConnection: Promise<pg.PoolClient> | undefined;
  private readonly lockReleasers = new Map<pg.PoolClient, () => void>();
  private lockClient(): Promise<pg.PoolClient> {
    if (!this.lockConnection) {
      const connecting = this.db.connect().then((client) => {
        const onError = () => {
          if (this.lockConnection === connecting) this.lockConnection = undefined;
          this.lockReleasers.delete(client);
          client.release(true);
          this.emitter.emit('leadership-lost');
        };
        client.once('error', onError);
        // stop() hands the client back; after that, its errors are the pool's business.
        this.lockReleasers.set(client, () => client.off('error', onError));
        return client;
      });
      connecting.catch(() => {
        if (this.lockConnection === connecting) this.lockConnection = undefined;
      });
      this.lockConnection = connecting;
    }
    return this.lockConnection;
  }

  /** The leader loops share one client: one query at a time (pg deprecates overlapping queries on a client). */
  private lockChain: Promise<unknown> = Promise.resolve();
  private onLockClient(client: pg.PoolClient, sql: string, params: unknown[]) {
    const run = this.lockChain.then(() => client.query<{ ok: boolean }>(sql, params));
    this.lockChain = run.catch(() => undefined);
    return run;
  }

  private async lead(projection: Projection): Promise<void> {
    const slot: { subscription?: Subscription | undefined } = {};
    this.live.set(projection.name, slot);
    while (!this.stopped) {
      let lock: pg.PoolClient | undefined;
      try {
        lock = await this.lockClient();
        const got = await this.onLockClient(lock, 'SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [
          lockKey(projection.name),
        ]);
        if (!got.rows[0]?.ok) {
          lock = undefined;
          await this.sleep(this.options.lockRetryMs ?? 2_000);
          continue;
        }
        const lost = new Promise<void>((resolve) => this.emitter.once('leadership-lost', () => resolve()));
        await this.runWhileLeader(projection, slot, lost);
      } catch (error) {
        this.logger.warn(
          { projection: projection.name, err: (error as Error).message },
          'projection runner interrupted; retrying',
        );
      } finally {
        if (lock)
          await this.onLockClient(lock, 'SELECT pg_advisory_unlock(hashtext($1)) AS ok', [
            lockKey(projection.name),
          ]).catch(() => undefined);
      }
      if (!this.stopped) await this.sleep(500);
    }
  }

  /** As leader: finish an interrupted or needed rebuild, then follow the log until told to stop. */
  private async runWhileLeader(
    projection: Projection,
    slot: { subscription?: Subscription | undefined },
    lost: Promise<void>,
  ): Promise<void> {
    let checkpoint = await readCheckpoint(this.db, projection.name);
    const pending = await readCheckpoint(this.db, `${projection.name}@rebuild`);
    if (checkpoint && (checkpoint.version !== projection.version || (pending && pending.status === 'rebuilding'))) {
      this.logger.info(
        { projection: projection.name },
        checkpoint.version !== projection.version
          ? 'projection version changed: rebuilding'
          : 'resuming interrupted rebuild',
      );
      try {
        await this.rebuild(projection.name);
      } catch (error) {
        // Another process (the CLI) is rebuilding right now: follow the live tables meanwhile.
        if (!(error instanceof RebuildBusyError)) throw error;
      }
      checkpoint = await readCheckpoint(this.db, projection.name);
    }
    while (!this.stopped && checkpoint) {
      if (checkpoint.status === 'failed') {
        // Stopped on a bad event: wait for a rebuild (or an operator) to change the status.
        await Promise.race([this.sleep(1_000), lost]);
        checkpoint = await readCheckpoint(this.db, projection.name);
        continue;
      }
      this.positions.set(projection.name, checkpoint.position);
      const outcome = await this.follow(projection, checkpoint, slot, lost);
      if (outcome === 'lost') return;
      checkpoint = await readCheckpoint(this.db, projection.name);
    }
  }

  /**
   * Subscribes from the checkpoint; resolves when the subscription ends (stale checkpoint, failure, stop).
   * Batches with nothing for this projection open no transaction: the position moves in memory and is
   * written at most every CHECKPOINT_FLUSH_MS (re-reading those events after a crash changes nothing).
   */
  private follow(
    projection: Projection,
    start: Checkpoint,
    slot: { subscription?: Subscription | undefined },
    lost: Promise<void>,
  ): Promise<'ended' | 'lost'> {
    let persisted = { position: start.position, generation: start.generation };
    let skipped: { last: GlobalPosition; count: number } | undefined;
    let timer: NodeJS.Timeout | undefined;
    // Applies and flushes run one at a time (the flush timer must not overlap a batch).
    let chain: Promise<unknown> = Promise.resolve();
    const serial = <T>(fn: () => Promise<T>): Promise<T> => {
      const run = chain.then(fn);
      chain = run.catch(() => undefined);
      return run;
    };
    return new Promise((resolve) => {
      let ended = false;
      const end = (outcome: 'ended' | 'lost') => {
        if (timer) clearTimeout(timer);
        timer = undefined;
        if (!ended) {
          ended = true;
          resolve(outcome);
        }
      };
      const write = async (statements: Statement[], to: GlobalPosition, count: number) => {
        await this.applyLive(projection, statements, persisted, to, count);
        persisted = { position: to, generation: persisted.generation };
        skipped = undefined;
      };
      const flush = () =>
        serial(async () => {
          timer = undefined;
          if (skipped && !ended) await write([], skipped.last, skipped.count);
        }).catch((error: unknown) => {
          void subscription.close();
          if (error instanceof StaleCheckpoint) end('ended');
          else void this.recordFailure(projection, error).then(() => end('ended'));
        });
      const subscription = this.log.subscribeAll({
        ...(comparePositions(start.position, START) > 0 ? { after: start.position } : {}),
        batchSize: this.options.batchSize ?? 1_000,
        onEvents: (events) =>
          serial(async () => {
            const last = events[events.length - 1]!.position;
            const statements = statementsFor(projection, events, liveTables(projection));
            if (statements.length === 0) {
              skipped = { last, count: (skipped?.count ?? 0) + events.length };
              timer ??= setTimeout(() => void flush(), CHECKPOINT_FLUSH_MS);
            } else {
              await write(statements, last, events.length + (skipped?.count ?? 0));
            }
            this.positions.set(projection.name, last);
            this.emitter.emit('progress');
          }),
        onError: (error) => {
          if (error instanceof StaleCheckpoint) {
            end('ended');
            return;
          }
          void this.recordFailure(projection, error).then(() => end('ended'));
        },
      });
      slot.subscription = subscription;
      void lost.then(async () => {
        await subscription.close();
        end('lost');
      });
      // On stop, write the lazily kept position first (status and events_handled stay exact).
      this.emitter.once(`stop:${projection.name}`, () => {
        if (timer) clearTimeout(timer);
        void flush().finally(() => subscription.close().then(() => end('ended')));
      });
    });
  }

  /** Applies statements and moves the checkpoint to `to` in one transaction, if the row is still where we left it. */
  private async applyLive(
    projection: Projection,
    statements: readonly Statement[],
    expected: { position: GlobalPosition; generation: number },
    to: GlobalPosition,
    count: number,
  ) {
    if (statements.length === 0) {
      // Only the position moves: one guarded UPDATE (the same checks as below, without a transaction).
      const moved = await advanceTo(this.db, projection.name, to, count, expected);
      if (moved.rowCount !== 1) throw new StaleCheckpoint();
      return;
    }
    // The guard leads the batch: it locks our checkpoint row and raises when a rebuild's swap or another
    // instance moved it, which rolls the whole batch back.
    const guard = {
      sql: `DO $guard$ BEGIN
              PERFORM 1 FROM projection_checkpoints
               WHERE name = $1 AND status = 'running' AND generation = $2 AND position_commit = $3 AND position_prepare = $4
                 FOR UPDATE;
              IF NOT FOUND THEN RAISE EXCEPTION 'the projection checkpoint moved' USING ERRCODE = '${STALE_CHECKPOINT}'; END IF;
            END $guard$`,
      params: [
        projection.name,
        expected.generation,
        String(expected.position.commit),
        String(expected.position.prepare),
      ],
    };
    const batch = [guard, ...statements, advanceStatement(projection.name, to, count)];
    try {
      // The statements of one simple-protocol query run as one implicit transaction (PostgreSQL
      // protocol, "Multiple Statements in a Simple Query"): a batch that fits in one query is one round
      // trip; a larger one needs a transaction around its queries.
      if (batch.length <= STATEMENTS_PER_QUERY) await applyStatements(this.db, batch);
      else await this.db.transaction((tx) => applyStatements(tx, batch));
    } catch (error) {
      if ((error as { code?: string }).code === STALE_CHECKPOINT) throw new StaleCheckpoint();
      throw error;
    }
  }

  private async recordFailure(projection: Projection, error: unknown): Promise<void> {
    if (!isDeterministic(error)) {
      this.logger.warn(
        { projection: projection.name, err: (error as Error).message },
        'projection paused by a database error; will retry',
      );
      await this.sleep(1_000);
      return;
    }
    // Find the event that fails alone (the events before it are applied), so the error names it.
    let failed: RecordedEvent | undefined;
    const checkpoint = await readCheckpoint(this.db, projection.name);
    if (checkpoint) {
      const events = await this.log.readAll({ after: checkpoint.position, maxCount: this.options.batchSize ?? 1_000 });
      let expected = { position: checkpoint.position, generation: checkpoint.generation };
      for (const event of events) {
        try {
          await this.applyLive(
            projection,
            statementsFor(projection, [event], liveTables(projection)),
            expected,
            event.position,
            1,
          );
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
    this.logger.error(
      { projection: projection.name, eventId: failed?.id, eventType: failed?.type, err: message },
      'projection stopped on an event',
    );
    await this.db.query(
      `UPDATE projection_checkpoints SET status = 'failed', last_error = $2, failed_event_id = $3, updated_at = now() WHERE name = $1`,
      // (An error message may quote the event's text.)
      [projection.name, toStorableText(message), failed?.id ?? null],
    );
    this.emitter.emit('progress');
  }

  /**
   * Resolves when the projections (all, or `names`) have processed `position`: a command's caller
   * reads its own writes. Rejects when one of them has stopped on an error or the timeout passes.
   */
  async waitFor(
    position: GlobalPosition | undefined,
    options: { names?: string[]; timeoutMs?: number } = {},
  ): Promise<void> {
    if (!position) return;
    const names = options.names ?? this.projections.map((p) => p.name);
    const deadline = Date.now() + (options.timeoutMs ?? 5_000);
    for (;;) {
      let behind = names.filter((name) => {
        const local = this.positions.get(name);
        return !local || comparePositions(local, position) < 0;
      });
      if (behind.length > 0) {
        // Another instance may be the leader: its progress is in the checkpoint table.
        const rows = await this.db.query<{
          name: string;
          position_commit: string;
          position_prepare: string;
          status: string;
          last_error: string | null;
        }>(
          'SELECT name, position_commit::text, position_prepare::text, status, last_error FROM projection_checkpoints WHERE name = ANY($1)',
          [behind],
        );
        for (const row of rows.rows) {
          if (row.status === 'failed') throw new ProjectionFailedError(row.name, row.last_error ?? 'unknown error');
        }
        behind = rows.rows
          .filter(
            (row) =>
              comparePositions(
                { commit: BigInt(row.position_commit), prepare: BigInt(row.position_prepare) },
                position,
              ) < 0,
          )
          .map((row) => row.name);
      }
      if (behind.length === 0) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for projections ${behind.join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, 25);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.emitter.once('progress', done);
      });
    }
  }

  /** Rebuilds into fresh tables, then swaps them in; the old tables serve reads until the swap. */
  async rebuild(name: string, onProgress?: (progress: RebuildProgress) => void): Promise<RebuildProgress> {
    return (await this.rebuildAll([name], onProgress))[0]!;
  }

  /** Rebuilds several projections from one read of the log (see rebuildProjections). */
  async rebuildAll(
    names: readonly string[] = this.projections.map((p) => p.name),
    onProgress?: (progress: RebuildProgress) => void,
  ): Promise<RebuildProgress[]> {
    const projections = names.map((name) => this.projection(name));
    try {
      const results = await rebuildProjections(
        this.db,
        this.log,
        projections,
        this.logger,
        (progress) => {
          this.rebuilds.set(progress.projection, progress);
          onProgress?.(progress);
        },
        this.options.batchSize,
      );
      // The live loops re-read their (moved) checkpoints.
      for (const name of names) this.emitter.emit(`stop:${name}`);
      return results;
    } finally {
      for (const name of names) this.rebuilds.delete(name);
    }
  }

  async status(): Promise<ProjectionStatus[]> {
    const head = await this.log.headPosition();
    const names = this.projections.map((p) => p.name);
    const rows = await readCheckpoints(this.db, [...names, ...names.map((name) => `${name}@rebuild`)]);
    const current = this.projections.flatMap((projection) => {
      const checkpoint = rows.get(projection.name);
      if (!checkpoint) return [];
      // As leader, this instance knows a newer position than the table (irrelevant events are written lazily).
      const local = this.positions.get(projection.name);
      const position =
        local && comparePositions(local, checkpoint.position) > 0 && checkpoint.status === 'running'
          ? local
          : checkpoint.position;
      return [{ projection, checkpoint, position }];
    });
    // Projections usually stand at the same position: read what is pending once, from the oldest one.
    // Only when that page is full (lag capped at LAG_CAP) may a projection need a read of its own.
    const behind = current.filter(({ position }) => head && comparePositions(head, position) > 0);
    const oldest = behind.reduce<GlobalPosition | undefined>(
      (min, { position }) => (!min || comparePositions(position, min) < 0 ? position : min),
      undefined,
    );
    const shared = oldest ? await this.log.readAll({ after: oldest, maxCount: LAG_CAP }) : [];
    const statuses: ProjectionStatus[] = [];
    for (const { projection, checkpoint, position } of current) {
      let pending: RecordedEvent[] = [];
      if (head && comparePositions(head, position) > 0) {
        pending =
          shared.length < LAG_CAP
            ? shared.filter((event) => comparePositions(event.position, position) > 0)
            : await this.log.readAll({ after: position, maxCount: LAG_CAP });
      }
      const rebuildRow = rows.get(`${projection.name}@rebuild`);
      statuses.push({
        name: projection.name,
        status: checkpoint.status,
        position,
        eventsHandled: checkpoint.eventsHandled,
        lagEvents: pending.length,
        lagSeconds: pending[0] ? Math.max(0, (Date.now() - pending[0].createdAt.getTime()) / 1_000) : 0,
        lastError: checkpoint.lastError,
        failedEventId: checkpoint.failedEventId,
        updatedAt: checkpoint.updatedAt,
        rebuild:
          this.rebuilds.get(projection.name) ?? (rebuildRow?.status === 'rebuilding' ? rebuildRow.rebuild : undefined),
      });
    }
    return statuses;
  }

  /** True when every projection has processed the current head (for /readyz). */
  async caughtUp(): Promise<boolean> {
    return (await this.status()).every(isCaughtUp);
  }

  /** Waits ms, or less when the runner stops. */
  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.emitter.off('stopping', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref?.();
      this.emitter.once('stopping', done);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.emitter.emit('stopping');
    for (const [name, slot] of this.live) {
      this.emitter.emit(`stop:${name}`);
      await slot.subscription?.close();
    }
    this.emitter.emit('leadership-lost');
    // Each leader loop unlocks before the shared lock connection goes back to the pool.
    await Promise.all(this.leaders);
    const client = await this.lockConnection?.catch(() => undefined);
    this.lockConnection = undefined;
    if (client && this.lockReleasers.has(client)) {
      this.lockReleasers.get(client)!();
      this.lockReleasers.delete(client);
      client.release();
    }
  }
}
