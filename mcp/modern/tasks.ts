// Durable tasks (MCP tasks extension io.modelcontextprotocol/tasks, SEP-2663): a long tool call is a task
// whose every step is an event of its stream (domain/tasks), so any instance answers tasks/get and
// tasks/cancel for it. The instance running it renews a lease in the log; when an instance dies (kill -9)
// its leases lapse, and the sweep of any other instance takes the task over: a read-only call is run
// again, a call with side effects is marked failed (it may have done part of its work: never twice).
import type { Logger } from '../../app/logger.ts';
import { handleCommand, loadAggregate } from '../../app/handle.ts';
import type { Queryable } from '../../db/database.ts';
import { DomainError, SYSTEM } from '../../domain/shared.ts';
import {
  isExpired,
  taskDecider,
  taskStream,
  TASK_INTERNAL_ERROR,
  type PresentTask,
  type TaskCommand,
  type TaskState,
} from '../../domain/tasks/index.ts';
import type { EventLog, RecordedEvent } from '../../eventstore/port.ts';
import { oversize, REPLAY_DROPPED_CODE } from '../replay-bound.ts';
import type { ToolCaller } from '../tools/index.ts';
import { lapsedTaskIds } from '../../projections/mcp/tasks.queries.ts';

export type TaskProgressReport = { progress: number; total?: number; message?: string };

/** Runs one tool call for a task (audited and scope-checked like any call); resolves with its CallToolResult. */
export type TaskRunner = (
  tool: string,
  args: Record<string, unknown>,
  caller: ToolCaller,
  signal: AbortSignal,
  progress: (report: TaskProgressReport) => void,
) => Promise<Record<string, unknown>>;

export type DurableTasksOptions = {
  /** This instance's name in the leases it holds (unique per process). */
  readonly instanceId: string;
  readonly run: TaskRunner;
  /** Whether a tool only reads (annotations.readOnlyHint): only those are ever run again. */
  readonly isReadOnly: (tool: string) => boolean;
  /** A task result larger than this is not kept (the bound of replayed messages, MCP_REPLAY_MAX_BYTES). */
  readonly maxResultBytes: number;
  readonly leaseMs?: number;
  readonly ttlMs?: number;
  readonly pollIntervalMs?: number;
  /** At most one progress event per task this often. */
  readonly progressEveryMs?: number;
};

/** tasks/get of an unknown, expired or someone else's task (SEP-2663: -32602). */
export class TaskNotFoundError extends Error {
  constructor(readonly taskId: string) {
    super(`unknown task ${taskId}`);
    this.name = 'TaskNotFoundError';
  }
}

const DEFAULTS = { leaseMs: 30_000, ttlMs: 3_600_000, pollIntervalMs: 1_000, progressEveryMs: 1_000 };
const SWEEP_BATCH = 50;

type Running = { readonly controller: AbortController; readonly attempt: number };

export class DurableTasks {
  private readonly running = new Map<string, Running>();
  private readonly settled = new Set<Promise<void>>();
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly leaseMs: number;
  private readonly ttlMs: number;
  private readonly pollIntervalMs: number;
  private readonly progressEveryMs: number;

  constructor(
    private readonly log: EventLog,
    private readonly db: Queryable,
    private readonly logger: Logger,
    private readonly options: DurableTasksOptions,
  ) {
    this.leaseMs = options.leaseMs ?? DEFAULTS.leaseMs;
    this.ttlMs = options.ttlMs ?? DEFAULTS.ttlMs;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULTS.pollIntervalMs;
    this.progressEveryMs = options.progressEveryMs ?? DEFAULTS.progressEveryMs;
  }

  /** Sweeps for lapsed leases every third of a lease. */
  start(): void {
    this.sweeper ??= setInterval(
      () => void this.sweep().catch((error: unknown) => this.logger.warn({ err: error }, 'task sweep failed')),
      Math.max(50, Math.floor(this.leaseMs / 3)),
    );
    this.sweeper.unref();
  }

  private command(taskId: string, command: TaskCommand) {
    return handleCommand(this.log, taskStream(taskId), taskDecider, command, { actor: SYSTEM });
  }

  /** Creates the task (durable before this resolves: tasks/get finds it on any instance) and starts it here. */
  async create(caller: ToolCaller, taskId: string, tool: string, args: Record<string, unknown>): Promise<PresentTask> {
    const readOnly = this.options.isReadOnly(tool);
    // Kept a while past its time to live, then gone from the log with its result.
    await this.log.setStreamMetadata(taskStream(taskId), { maxAgeSeconds: Math.ceil(this.ttlMs / 1_000) + 86_400 });
    const { state } = await this.command(taskId, {
      type: 'CreateTask',
      taskId,
      tool,
      arguments: args,
      readOnly,
      userId: caller.userId,
      clientId: caller.clientId,
      scopes: caller.scopes,
      tokenId: caller.tokenId,
      ttlMs: this.ttlMs,
      pollIntervalMs: this.pollIntervalMs,
      owner: this.options.instanceId,
      leaseMs: this.leaseMs,
      now: new Date(),
    });
    const task = state as PresentTask;
    this.execute(task, args);
    return task;
  }

  /** The task as its stream says now; TaskNotFoundError unless it is `caller`'s (same user and client) and unexpired. */
  async get(caller: Pick<ToolCaller, 'userId' | 'clientId'>, taskId: string, now = new Date()): Promise<PresentTask> {
    const { state } = await loadAggregate(this.log, taskStream(taskId), taskDecider);
    return this.visible(state, caller, taskId, now);
  }

  private visible(state: TaskState, caller: Pick<ToolCaller, 'userId' | 'clientId'>, taskId: string, now: Date) {
    // Someone else's task is as unknown as a made-up id: its existence is not disclosed.
    if (
      state.status === 'absent' ||
      state.userId !== caller.userId ||
      state.clientId !== caller.clientId ||
      isExpired(state, now)
    )
      throw new TaskNotFoundError(taskId);
    return state;
  }

  /** Cancels a working task (idempotent once it ended). The instance running it stops it when it reads the event. */
  async cancel(
    caller: Pick<ToolCaller, 'userId' | 'clientId'>,
    taskId: string,
    now = new Date(),
  ): Promise<PresentTask> {
    await this.get(caller, taskId, now);
    const { state } = await this.command(taskId, { type: 'CancelTask', now });
    this.running.get(taskId)?.controller.abort(new Error('task cancelled'));
    return state as PresentTask;
  }

  /** Every log event this instance reads: a cancel, or a takeover by another instance, stops the local run. */
  onLogEvent(event: RecordedEvent): void {
    if (event.type !== 'TaskCancelled' && event.type !== 'TaskResumed' && event.type !== 'TaskFailed') return;
    const data = event.data as { taskId?: unknown; owner?: unknown };
    if (typeof data.taskId !== 'string') return;
    const running = this.running.get(data.taskId);
    if (!running || (event.type === 'TaskResumed' && data.owner === this.options.instanceId)) return;
    running.controller.abort(new Error(`task ${event.type === 'TaskCancelled' ? 'cancelled' : 'taken over'}`));
  }

  /** Takes over the working tasks whose lease lapsed; returns how many this instance resumed or failed. */
  async sweep(now = new Date()): Promise<number> {
    if (this.closed) return 0;
    let taken = 0;
    for (const taskId of await lapsedTaskIds(this.db, now, SWEEP_BATCH)) {
      if (this.running.has(taskId)) continue;
      // The read model may lag: the decider looks at the task's stream and does nothing for a live lease.
      // Two instances sweeping at once: one append wins, the other reloads and finds the new lease.
      const { events, state } = await this.command(taskId, {
        type: 'TakeOverExpired',
        owner: this.options.instanceId,
        leaseMs: this.leaseMs,
        now,
      });
      if (events.length === 0) continue;
      taken += 1;
      const first = events[0]!;
      if (first.type === 'TaskResumed' && state.status === 'working') {
        this.logger.info(
          { taskId, tool: state.tool, attempt: state.attempt },
          'task resumed after its instance stopped',
        );
        this.execute(state, state.arguments ?? {});
      } else this.logger.warn({ taskId }, 'task failed: its instance stopped and it has side effects');
    }
    return taken;
  }

  /** Runs the current attempt here, renewing its lease until it reports. */
  private execute(task: PresentTask, args: Readonly<Record<string, unknown>>): void {
    const { taskId, attempt } = task;
    const controller = new AbortController();
    this.running.set(taskId, { controller, attempt });
    const owner = this.options.instanceId;
    const caller: ToolCaller = {
      userId: task.userId,
      clientId: task.clientId,
      scopes: task.scopes,
      sessionId: undefined,
      tokenId: task.tokenId,
    };
    const renew = setInterval(
      () => {
        this.command(taskId, { type: 'RenewLease', owner, attempt, leaseMs: this.leaseMs, now: new Date() })
          .then(({ state }) => {
            if (state.status !== 'working') controller.abort(new Error(`task ${state.status}`));
          })
          .catch((error: unknown) => {
            // lease_lost: another instance took over (this one stalled); it stops, the other reports.
            controller.abort(error);
            if (!(error instanceof DomainError)) this.logger.warn({ err: error, taskId }, 'task lease renewal failed');
          });
      },
      Math.max(20, Math.floor(this.leaseMs / 3)),
    );
    let lastProgress = 0;
    const progress = (report: TaskProgressReport) => {
      const at = Date.now();
      if (at - lastProgress < this.progressEveryMs) return;
      lastProgress = at;
      void this.command(taskId, { type: 'ReportProgress', attempt, ...report, now: new Date(at) }).catch(
        () => undefined,
      );
    };
    const done = (async () => {
      try {
        const result = await this.options.run(task.tool, { ...args }, caller, controller.signal, progress);
        if (this.closed) return;
        const bytes = oversize(JSON.stringify(result), this.options.maxResultBytes);
        await this.command(
          taskId,
          bytes === undefined
            ? { type: 'CompleteTask', attempt, result, now: new Date() }
            : {
                type: 'FailTask',
                attempt,
                reason: 'result_too_large',
                error: {
                  code: REPLAY_DROPPED_CODE,
                  message: `The result (${bytes} bytes) was larger than this server keeps (${this.options.maxResultBytes} bytes)`,
                  data: { reason: 'task_result_too_large', bytes, limit: this.options.maxResultBytes },
                },
                now: new Date(),
              },
        );
      } catch (error) {
        if (this.closed || (error instanceof DomainError && error.code === 'lease_lost')) return;
        this.logger.error({ err: error, taskId, tool: task.tool }, 'task failed');
        await this.command(taskId, {
          type: 'FailTask',
          attempt,
          reason: 'error',
          error: { code: TASK_INTERNAL_ERROR, message: `the tool ${task.tool} failed unexpectedly (task ${taskId})` },
          now: new Date(),
        }).catch(() => undefined);
      } finally {
        clearInterval(renew);
        this.running.delete(taskId);
      }
    })();
    this.settled.add(done);
    void done.finally(() => this.settled.delete(done));
  }

  /** Task ids running on this instance (tests, the panel). */
  runningHere(): string[] {
    return [...this.running.keys()];
  }

  /**
   * Stops sweeping and abandons the local runs without a word in the log: their leases lapse and another
   * instance takes them over, exactly as after a crash (a clean stop is not a reason to lose a task).
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const { controller } of this.running.values()) controller.abort(new Error('server stopping'));
    await Promise.allSettled([...this.settled]);
  }
}

/** SEP-2663 CreateTaskResult: flat, `resultType: "task"`, durations in integer milliseconds. */
export const createTaskResult = (task: PresentTask) => ({
  resultType: 'task' as const,
  ...taskFields(task),
});

/** SEP-2663 DetailedTask (tasks/get): the result or error inlined once the task ended. */
export const detailedTask = (task: PresentTask) => ({
  resultType: 'complete' as const,
  ...taskFields(task),
  ...(task.status === 'completed' && task.result ? { result: task.result } : {}),
  ...(task.status === 'failed' && task.error ? { error: task.error } : {}),
});

const taskFields = (task: PresentTask) => ({
  taskId: task.taskId,
  status: task.status,
  ...(task.status === 'working' && task.progress
    ? {
        statusMessage: `${task.progress.progress}${task.progress.total === undefined ? '' : `/${task.progress.total}`}${task.progress.message ? ` ${task.progress.message}` : ''}`,
      }
    : {}),
  createdAt: task.createdAt.toISOString(),
  lastUpdatedAt: task.lastUpdatedAt.toISOString(),
  ttlMs: task.ttlMs,
  pollIntervalMs: task.pollIntervalMs,
});
