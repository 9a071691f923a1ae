import type { TaskError, TaskStatus } from './events.ts';

export type TaskProgress = { readonly progress: number; readonly total?: number; readonly message?: string };

export type TaskState =
  | { readonly status: 'absent' }
  | {
      readonly status: TaskStatus;
      readonly taskId: string;
      readonly tool: string;
      readonly arguments: Readonly<Record<string, unknown>> | undefined;
      readonly readOnly: boolean;
      readonly userId: string;
      readonly clientId: string;
      readonly scopes: readonly string[];
      readonly tokenId: string | undefined;
      readonly ttlMs: number;
      readonly pollIntervalMs: number;
      readonly owner: string;
      readonly attempt: number;
      readonly leaseUntil: Date;
      readonly createdAt: Date;
      readonly lastUpdatedAt: Date;
      readonly progress: TaskProgress | undefined;
      readonly result: Readonly<Record<string, unknown>> | undefined;
      readonly error: TaskError | undefined;
    };

export type PresentTask = Exclude<TaskState, { status: 'absent' }>;

export const initialTaskState = (): TaskState => ({ status: 'absent' });

/** The instance that runs an attempt, and how long its lease lasts from `now`. */
type Lease = { readonly owner: string; readonly leaseMs: number };
/** An attempt reporting back: only the current attempt of the current owner may. */
type Attempt = { readonly attempt: number };

export type TaskCommand =
  | ({
      type: 'CreateTask';
      taskId: string;
      tool: string;
      arguments: Record<string, unknown>;
      readOnly: boolean;
      userId: string;
      clientId: string;
      scopes: readonly string[];
      tokenId: string | undefined;
      ttlMs: number;
      pollIntervalMs: number;
      now: Date;
    } & Lease)
  | ({ type: 'RenewLease'; now: Date } & Lease & Attempt)
  | ({ type: 'ReportProgress'; progress: number; total?: number; message?: string; now: Date } & Attempt)
  | ({ type: 'CompleteTask'; result: Record<string, unknown>; now: Date } & Attempt)
  | ({
      type: 'FailTask';
      reason: 'error' | 'result_too_large';
      error: TaskError;
      now: Date;
    } & Attempt)
  | { type: 'CancelTask'; now: Date }
  /** Any instance, when the lease ran out: a read-only task is run again by `owner`, any other fails. */
  | ({ type: 'TakeOverExpired'; now: Date } & Lease);
