// The tasks extension on the 2026-07-28 path (io.modelcontextprotocol/tasks, SEP-2663): advertised under
// capabilities.extensions; a tools/call of a task-supporting tool from a client that declared the
// extension becomes a durable task (CreateTaskResult), any other call runs synchronously; tasks/get and
// tasks/cancel answer for tasks created on any instance (mcp/modern/tasks.ts).
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  CLIENT_CAPABILITIES_META_KEY,
  MissingRequiredClientCapabilityError,
  ProtocolError,
  ProtocolErrorCode,
  type AuthInfo,
  type CallToolResult,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { ToolCaller, Tools } from '../tools/index.ts';
import { progressNotifier } from '../tools/progress.ts';
import type { ModernSurface } from './handler.ts';
import { TaskNotFoundError, createTaskResult, detailedTask, type DurableTasks } from './tasks.ts';

export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';

export type TaskTools = Pick<Tools, 'invoke'>;

/** The caller named by the request's token (http/mcp/post.ts puts it in authInfo). */
const callerOf = (authInfo: AuthInfo | undefined): ToolCaller => {
  const extra = (authInfo?.extra ?? {}) as { userId?: unknown; tokenId?: unknown };
  if (!authInfo || typeof extra.userId !== 'string')
    throw new Error('a tasks request reached the modern path without authentication');
  return {
    userId: extra.userId,
    clientId: authInfo.clientId,
    scopes: authInfo.scopes,
    sessionId: undefined,
    tokenId: typeof extra.tokenId === 'string' ? extra.tokenId : undefined,
  };
};

/** Whether this request's client declared the extension (per-request `_meta` client capabilities, SEP-2575). */
const declaresTasks = (ctx: ServerContext): boolean => {
  const envelope = ctx.mcpReq.envelope as
    Record<string, { extensions?: Record<string, unknown> } | undefined> | undefined;
  return envelope?.[CLIENT_CAPABILITIES_META_KEY]?.extensions?.[TASKS_EXTENSION] !== undefined;
};

/** SEP-2575 §Missing Required Capabilities: -32021 naming the extension. */
const requireTasks = (ctx: ServerContext): void => {
  if (!declaresTasks(ctx))
    throw new MissingRequiredClientCapabilityError(
      { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
      `this request needs the client capability extensions["${TASKS_EXTENSION}"]`,
    );
};

const TaskParams = z.looseObject({ taskId: z.string().min(1).max(200) });

const found = async <T>(taskId: string, load: () => Promise<T>): Promise<T> => {
  try {
    return await load();
  } catch (error) {
    // SEP-2663: an unknown taskId is -32602 (so is an expired one, or another user's).
    if (error instanceof TaskNotFoundError)
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown task: ${taskId}`);
    throw error;
  }
};

/**
 * A tools/call of a tool that may run as a task: the server alone decides (SEP-2663), a durable task for a
 * client that declared the extension on this request (it can poll), else `now()`, the result at once.
 */
export const taskOrNow = async (
  tasks: DurableTasks,
  ctx: ServerContext,
  name: string,
  args: Record<string, unknown>,
  now: () => Promise<CallToolResult>,
): Promise<CallToolResult> => {
  if (!declaresTasks(ctx)) return now();
  const task = await tasks.create(callerOf(ctx.http?.authInfo), randomUUID(), name, args);
  return createTaskResult(task) as unknown as CallToolResult;
};

/** The extension's methods: advertised under capabilities.extensions, each gated on the client declaring it. */
export const tasksMethods =
  (tasks: DurableTasks): ModernSurface =>
  (server) => {
    server.server.registerCapabilities({ extensions: { [TASKS_EXTENSION]: {} } });
    server.server.setRequestHandler('tasks/get', { params: TaskParams }, async ({ taskId }, ctx) => {
      requireTasks(ctx);
      return detailedTask(await found(taskId, () => tasks.get(callerOf(ctx.http?.authInfo), taskId)));
    });
    server.server.setRequestHandler('tasks/cancel', { params: TaskParams }, async ({ taskId }, ctx) => {
      requireTasks(ctx);
      await found(taskId, () => tasks.cancel(callerOf(ctx.http?.authInfo), taskId));
      // SEP-2663: an empty acknowledgement; the status is read with tasks/get.
      return { resultType: 'complete' };
    });
    // SEP-2663 tasks/update delivers input a task asked for; no task of this server ever waits for input
    // (none reaches input_required), so a known task is refused as an invalid update, nothing changes.
    // Its `inputResponses` are taken out of the params by the SDK (SEP-2322), as for any retried request.
    server.server.setRequestHandler('tasks/update', { params: TaskParams }, async ({ taskId }, ctx) => {
      requireTasks(ctx);
      const task = await found(taskId, () => tasks.get(callerOf(ctx.http?.authInfo), taskId));
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Task ${taskId} is ${task.status}, not waiting for input`,
      );
    });
  };

/** `taskTools`: tools long enough to be worth a task (their readOnlyHint decides what happens after a crash). */
export const tasksSurface =
  (tasks: DurableTasks, tools: TaskTools, taskTools: ReadonlySet<string>): ModernSurface =>
  (server, context) => {
    tasksMethods(tasks)(server, context);
    // Replaces the registry's tools/call on this server (registered before it); tools/list stays its.
    server.server.setRequestHandler('tools/call', async (request, ctx) => {
      const caller = callerOf(ctx.http?.authInfo);
      const { name } = request.params;
      const args = (request.params.arguments ?? {}) as Record<string, unknown>;
      const now = async () =>
        (await tools.invoke(
          name,
          args,
          caller,
          ctx.mcpReq.signal,
          progressNotifier(ctx.mcpReq._meta?.progressToken, (notification) => ctx.mcpReq.notify(notification)),
        )) as CallToolResult;
      return taskTools.has(name) ? taskOrNow(tasks, ctx, name, args, now) : now();
    });
  };
