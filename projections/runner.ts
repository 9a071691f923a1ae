// Runs projections: catch-up then live, each batch and its checkpoint in one transaction (exactly once),
// one active runner per projection across instances (session advisory lock), blue/green rebuilds.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import { comparePositions, type EventLog, type GlobalPosition, type RecordedEvent } from '../eventstore/port.ts';
import { readCheckpoint, readCheckpoints } from './checkpoints.ts';
import { follow, type FollowContext } from './follow.ts';
import { Leadership } from './leadership.ts';
import { RebuildBusyError, rebuildProjections, type RebuildProgress } from './rebuild.ts';
import { ddl, liveTables, type Projection } from './sql.ts';

export { CHECKPOINT_FLUSH_MS } from './follow.ts';
export { lockKey } from './leadership.ts';

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

/** /readyz tolerates this much projection lag under constant traffic (another instance's leader writes lazily). */
export const READY_LAG_SECONDS = 5;
/** Lag is counted up to this many events. */
const LAG_CAP = 10_000;

/** Ready: running, and caught up or less than READY_LAG_SECONDS behind (used by /readyz and caughtUp). */
export const isCaughtUp = (status: ProjectionStatus): boolean =>
  status.status === 'running' && (status.lagEvents === 0 || status.lagSeconds < READY_LAG_SECONDS);

export class ProjectionRunner {
  private readonly emitter = new EventEmitter();
  private readonly positions = new Map<string, GlobalPosition>();
  private readonly rebuilds = new Map<string, RebuildProgress>();
  private stopped = false;
  private readonly leaders: Promise<void>[] = [];
  private readonly leadership: Leadership;
  private readonly follow: FollowContext;

  constructor(
    private readonly db: Database,
    private readonly log: EventLog,
    readonly projections: readonly Projection[],
    private readonly logger: Logger,
    private readonly options: { batchSize?: number; lockRetryMs?: number } = {},
  ) {
    this.emitter.setMaxListeners(0);
    this.leadership = new Leadership(db);
    this.follow = {
      db,
      log,
      logger,
      batchSize: options.batchSize ?? 1_000,
      onPosition: (position) => this.progress(position),
      sleep: (ms) => this.sleep(ms),
      onFailed: () => this.emitter.emit('progress'),
    };
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

  /** Leads `projection` whenever this instance holds its lock; otherwise retries now and then. */
  private async lead(projection: Projection): Promise<void> {
    while (!this.stopped) {
      let held = false;
      try {
        held = await this.leadership.acquire(projection.name);
        if (!held) {
          await this.sleep(this.options.lockRetryMs ?? 2_000);
          continue;
        }
        await this.runWhileLeader(projection, this.leadership.lost());
      } catch (error) {
        this.logger.warn(
          { projection: projection.name, err: (error as Error).message },
          'projection runner interrupted; retrying',
        );
      } finally {
        if (held) await this.leadership.release(projection.name);
      }
      if (!this.stopped) await this.sleep(500);
    }
  }

  /** As leader: finish an interrupted or needed rebuild, then follow the log until told to stop. */
  private async runWhileLeader(projection: Projection, lost: Promise<void>): Promise<void> {
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
      // stop() or a finished rebuild (the checkpoint moved) ends this follow; the loop re-reads it.
      let onStop: (() => void) | undefined;
      const stop = new Promise<void>((resolve) => (onStop = resolve));
      this.emitter.once(`stop:${projection.name}`, onStop!);
      const outcome = await follow(
        { ...this.follow, onPosition: (position) => this.progress(position, projection.name) },
        projection,
        checkpoint,
        { stop, lost },
      ).finally(() => this.emitter.off(`stop:${projection.name}`, onStop!));
      if (outcome === 'lost') return;
      checkpoint = await readCheckpoint(this.db, projection.name);
    }
  }

  private progress(position: GlobalPosition, name?: string): void {
    if (name) this.positions.set(name, position);
    this.emitter.emit('progress');
  }

  /**
   * Resolves when the projections (all, or those given) have processed `position`: a command's caller
   * reads its own writes. Rejects when one of them has stopped on an error or the timeout passes.
   * Projections are passed as the objects the read models export, so a renamed or removed one is a type
   * error at the call site rather than a wait that never ends.
   */
  async waitFor(
    position: GlobalPosition | undefined,
    options: { projections?: readonly Projection[]; timeoutMs?: number } = {},
  ): Promise<void> {
    if (!position) return;
    const names = (options.projections ?? this.projections).map((p) => p.name);
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
    for (const projection of this.projections) this.emitter.emit(`stop:${projection.name}`);
    this.leadership.endAll();
    // Each leader loop unlocks before the shared lock connection goes back to the pool.
    await Promise.all(this.leaders);
    await this.leadership.close();
  }
}
