import { assertNever } from '../shared.ts';
import type { TaskEvent } from './events.ts';
import type { TaskState } from './state.ts';

export const evolveTask = (state: TaskState, event: TaskEvent): TaskState => {
  if (event.type === 'TaskCreated') {
    const { data } = event;
    const at = new Date(data.at);
    return {
      status: 'working',
      taskId: data.taskId,
      tool: data.tool,
      arguments: data.arguments,
      readOnly: data.readOnly,
      userId: data.userId,
      clientId: data.clientId,
      scopes: data.scopes,
      tokenId: data.tokenId,
      ttlMs: data.ttlMs,
      pollIntervalMs: data.pollIntervalMs,
      owner: data.owner,
      attempt: data.attempt,
      leaseUntil: new Date(data.leaseUntil),
      createdAt: at,
      lastUpdatedAt: at,
      progress: undefined,
      result: undefined,
      error: undefined,
    };
  }
  if (state.status === 'absent') return state;
  const lastUpdatedAt = new Date(event.data.at);
  switch (event.type) {
    case 'TaskLeaseRenewed':
      // A heartbeat is not a change a client sees: lastUpdatedAt stays.
      return { ...state, leaseUntil: new Date(event.data.leaseUntil) };
    case 'TaskResumed':
      return {
        ...state,
        owner: event.data.owner,
        attempt: event.data.attempt,
        leaseUntil: new Date(event.data.leaseUntil),
        progress: undefined,
        lastUpdatedAt,
      };
    case 'TaskProgressed': {
      const { progress, total, message } = event.data;
      return {
        ...state,
        progress: {
          progress,
          ...(total === undefined ? {} : { total }),
          ...(message === undefined ? {} : { message }),
        },
        lastUpdatedAt,
      };
    }
    case 'TaskCompleted':
      return { ...state, status: 'completed', result: event.data.result, lastUpdatedAt };
    case 'TaskFailed':
      return { ...state, status: 'failed', error: event.data.error, lastUpdatedAt };
    case 'TaskCancelled':
      return { ...state, status: 'cancelled', lastUpdatedAt };
    default:
      return assertNever(event);
  }
};
