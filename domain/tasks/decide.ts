import { DomainError, assertNever } from '../shared.ts';
import type { TaskEvent } from './events.ts';
import type { PresentTask, TaskCommand, TaskState } from './state.ts';

/** JSON-RPC 2.0 §5.1 internal error: the code a failed task's inlined error carries when the server gave up. */
export const TASK_INTERNAL_ERROR = -32603;

const isTerminal = (state: PresentTask): boolean => state.status !== 'working';

/** A report from an attempt that is no longer the task's current one (its lease ran out and another instance took over). */
const checkAttempt = (state: PresentTask, attempt: number): void => {
  if (attempt !== state.attempt)
    throw new DomainError(
      'lease_lost',
      `attempt ${attempt} of task ${state.taskId} was taken over by attempt ${state.attempt}`,
    );
};

const leaseUntil = (now: Date, leaseMs: number): string => new Date(now.getTime() + leaseMs).toISOString();

export const decideTask = (command: TaskCommand, state: TaskState): TaskEvent[] => {
  if (command.type === 'CreateTask') {
    if (state.status !== 'absent') throw new DomainError('task_exists', 'this task id is taken');
    if (command.leaseMs <= 0 || command.ttlMs <= 0 || command.pollIntervalMs <= 0)
      throw new DomainError('invalid_task', 'a task needs a positive lease, time to live and poll interval');
    const at = command.now.toISOString();
    return [
      {
        type: 'TaskCreated',
        data: {
          taskId: command.taskId,
          tool: command.tool,
          // Only a read-only call is ever run again, so only its arguments need keeping.
          ...(command.readOnly ? { arguments: command.arguments } : {}),
          readOnly: command.readOnly,
          userId: command.userId,
          clientId: command.clientId,
          scopes: [...command.scopes],
          ...(command.tokenId ? { tokenId: command.tokenId } : {}),
          ttlMs: command.ttlMs,
          pollIntervalMs: command.pollIntervalMs,
          owner: command.owner,
          attempt: 1,
          leaseUntil: leaseUntil(command.now, command.leaseMs),
          at,
        },
      },
    ];
  }
  if (state.status === 'absent') throw new DomainError('task_not_found', 'no such task');
  const at = command.now.toISOString();
  const taskId = state.taskId;
  switch (command.type) {
    case 'RenewLease':
      if (isTerminal(state)) return [];
      checkAttempt(state, command.attempt);
      return [
        {
          type: 'TaskLeaseRenewed',
          data: {
            taskId,
            owner: command.owner,
            attempt: command.attempt,
            leaseUntil: leaseUntil(command.now, command.leaseMs),
            at,
          },
        },
      ];
    case 'ReportProgress':
      if (isTerminal(state)) return [];
      checkAttempt(state, command.attempt);
      return [
        {
          type: 'TaskProgressed',
          data: {
            taskId,
            attempt: command.attempt,
            progress: command.progress,
            ...(command.total === undefined ? {} : { total: command.total }),
            ...(command.message === undefined ? {} : { message: command.message.slice(0, 500) }),
            at,
          },
        },
      ];
    case 'CompleteTask':
    case 'FailTask':
      // Cancelled first: the late result is dropped, the status a client already saw stays.
      if (isTerminal(state)) return [];
      checkAttempt(state, command.attempt);
      return command.type === 'CompleteTask'
        ? [{ type: 'TaskCompleted', data: { taskId, attempt: command.attempt, result: command.result, at } }]
        : [
            {
              type: 'TaskFailed',
              data: { taskId, attempt: command.attempt, reason: command.reason, error: command.error, at },
            },
          ];
    case 'CancelTask':
      // SEP-2663: cancelling a task that already ended is acknowledged the same way, and changes nothing.
      return isTerminal(state) ? [] : [{ type: 'TaskCancelled', data: { taskId, at } }];
    case 'TakeOverExpired':
      if (isTerminal(state) || state.leaseUntil.getTime() > command.now.getTime()) return [];
      if (state.readOnly)
        return [
          {
            type: 'TaskResumed',
            data: {
              taskId,
              owner: command.owner,
              attempt: state.attempt + 1,
              leaseUntil: leaseUntil(command.now, command.leaseMs),
              previousOwner: state.owner,
              at,
            },
          },
        ];
      // A call with side effects may have done part of its work: running it again could apply it twice.
      return [
        {
          type: 'TaskFailed',
          data: {
            taskId,
            attempt: state.attempt,
            reason: 'owner_lost',
            error: {
              code: TASK_INTERNAL_ERROR,
              message: `the server instance running this task stopped; ${state.tool} changes data, so it was not run again (some of its changes may have been made)`,
              data: { reason: 'owner_lost', tool: state.tool },
            },
            at,
          },
        },
      ];
    default:
      return assertNever(command);
  }
};
