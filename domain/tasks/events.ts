import { z } from 'zod';

/** MCP tasks extension (io.modelcontextprotocol/tasks, SEP-2663) statuses this server uses. */
export const TASK_STATUSES = ['working', 'completed', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Why a task ended in `failed`: the tool threw, its instance died with side effects, or its result was too large to keep. */
export const TASK_FAILURE_REASONS = ['error', 'owner_lost', 'result_too_large'] as const;

/** A JSON-RPC error object (JSON-RPC 2.0 §5.1), as tasks/get inlines it for a failed task. */
export const TaskError = z.object({ code: z.number().int(), message: z.string(), data: z.unknown().optional() });
export type TaskError = z.infer<typeof TaskError>;

const taskId = z.string();
const at = z.string();
/** The instance running an attempt; a lease it keeps renewing says it is still alive. */
const lease = { owner: z.string(), attempt: z.number().int().min(1), leaseUntil: z.string() };

/**
 * One long tool call (stream `mcp-task-<id>`). The lease events are the heartbeat: an instance that
 * stops renewing (kill -9) lets another one take the task over (resume it when it is read-only, fail
 * it otherwise). `arguments` are kept only for read-only tools, the only ones ever run again.
 */
export const TaskEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('TaskCreated'),
    data: z.object({
      taskId,
      tool: z.string(),
      arguments: z.record(z.string(), z.unknown()).optional(),
      readOnly: z.boolean(),
      userId: z.string(),
      clientId: z.string(),
      scopes: z.array(z.string()),
      tokenId: z.string().optional(),
      ttlMs: z.number().int().positive(),
      pollIntervalMs: z.number().int().positive(),
      ...lease,
      at,
    }),
  }),
  z.object({ type: z.literal('TaskLeaseRenewed'), data: z.object({ taskId, ...lease, at }) }),
  z.object({
    type: z.literal('TaskResumed'),
    data: z.object({ taskId, ...lease, previousOwner: z.string(), at }),
  }),
  z.object({
    type: z.literal('TaskProgressed'),
    data: z.object({
      taskId,
      attempt: z.number().int().min(1),
      progress: z.number(),
      total: z.number().optional(),
      message: z.string().optional(),
      at,
    }),
  }),
  z.object({
    type: z.literal('TaskCompleted'),
    data: z.object({ taskId, attempt: z.number().int().min(1), result: z.record(z.string(), z.unknown()), at }),
  }),
  z.object({
    type: z.literal('TaskFailed'),
    data: z.object({
      taskId,
      attempt: z.number().int().min(1),
      reason: z.enum(TASK_FAILURE_REASONS),
      error: TaskError,
      at,
    }),
  }),
  z.object({ type: z.literal('TaskCancelled'), data: z.object({ taskId, at }) }),
]);
export type TaskEvent = z.infer<typeof TaskEvent>;

export const TASK_EVENT_TYPES = TaskEvent.options.map((option) => option.shape.type.value);
