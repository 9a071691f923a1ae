// The task aggregate (MCP tasks extension, io.modelcontextprotocol/tasks): one long tool call, run by one
// instance at a time under a lease, visible to every instance through its stream `mcp-task-<id>`.
import type { Decider } from '../shared.ts';
import { decideTask } from './decide.ts';
import { TaskEvent } from './events.ts';
import { evolveTask } from './evolve.ts';
import { initialTaskState, type TaskCommand, type TaskState } from './state.ts';

export {
  TaskEvent,
  TaskError,
  TASK_EVENT_TYPES,
  TASK_STATUSES,
  TASK_FAILURE_REASONS,
  type TaskStatus,
} from './events.ts';
export { TASK_INTERNAL_ERROR } from './decide.ts';
export type { TaskCommand, TaskState, PresentTask, TaskProgress } from './state.ts';

export const taskStream = (taskId: string): string => `mcp-task-${taskId}`;

/** Past its time to live (counted from creation, SEP-2663 `ttlMs`) a task is forgotten: tasks/get no longer finds it. */
export const isExpired = (state: TaskState, now: Date): boolean =>
  state.status !== 'absent' && state.createdAt.getTime() + state.ttlMs <= now.getTime();

export const taskDecider: Decider<TaskCommand, TaskEvent, TaskState> = {
  initialState: initialTaskState,
  decide: decideTask,
  evolve: evolveTask,
  parse: (event) => TaskEvent.parse(event),
};
