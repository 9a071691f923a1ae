// MCP_CONFORMANCE_FIXTURES, tasks extension (io.modelcontextprotocol/tasks, SEP-2663): the tools the
// suite's tasks-* scenarios call by name (`greet`, `slow_compute`, `failing_job`, `protocol_error_job`,
// `test_tool_with_task`).
// The task tools run as durable tasks (mcp/modern/tasks.ts) exactly as the product's fs tools do: created
// in the log, polled, cancelled and read from any instance. Test fixtures, not product features.
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import {
  acceptedContent,
  inputRequired,
  type CallToolResult,
  type InputRequiredResult,
  type McpServer,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { ModernSurface } from './modern/handler.ts';
import type { DurableTasks, TaskRunner } from './modern/tasks.ts';
import { taskOrNow, tasksMethods } from './modern/tasks-surface.ts';

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });

const SlowCompute = z.object({ seconds: z.number().min(0).max(600), label: z.string().max(200).optional() });

/** Runs a task fixture, as a task or at once; stops when `signal` aborts (a cancel: the task stays cancelled). */
const compute = async (tool: string, args: Record<string, unknown>, signal: AbortSignal): Promise<CallToolResult> => {
  switch (tool) {
    case 'slow_compute': {
      const { seconds, label } = SlowCompute.parse(args);
      if (seconds > 0) await sleep(seconds * 1_000, undefined, { signal });
      return text(`Computed ${label ?? 'result'} after ${seconds}s`);
    }
    case 'failing_job':
      // A tool execution error: the task completes with isError (SEP-2663 error semantics).
      await sleep(1_000, undefined, { signal });
      return { ...text('failing_job failed, as it always does'), isError: true };
    case 'test_tool_with_task':
      return text(`Hello, ${String(args.userName)}! (answered in a task)`);
    case 'protocol_error_job':
      // Not a tool error but a failure of the server's own: the task ends `failed` with a JSON-RPC error.
      throw new Error('protocol_error_job fails the way a server fault does');
    default:
      throw new Error(`no task fixture ${tool}`);
  }
};

export const runTaskFixture: TaskRunner = (tool, args, _caller, signal) => compute(tool, args, signal);

/** A task for a client of the extension, the result at once for any other. */
type TaskTool = { readonly schema: z.ZodObject; readonly description: string };
const TASK_TOOLS = {
  slow_compute: { schema: SlowCompute, description: 'Sleeps `seconds` seconds, then answers' },
  failing_job: { schema: z.object({}), description: 'Ends with a tool error after a second' },
  protocol_error_job: { schema: z.object({}), description: 'Fails as on a server fault' },
  test_tool_with_task: {
    schema: z.object({}),
    description: 'Asks for a name (input_required), then answers in a task',
  },
} as const satisfies Record<string, TaskTool>;
type TaskToolName = keyof typeof TASK_TOOLS;

const nameForm = {
  type: 'object' as const,
  properties: { name: { type: 'string' as const } },
  required: ['name'],
};

/**
 * The answer to one task fixture call: input_required, a task, or the result at once. SEP-2663's
 * required task support (-32021 to a client without the extension) is not served: the SDK's tool
 * dispatch turns an error thrown by a tool into an isError result.
 */
const callTaskTool = async (
  tasks: DurableTasks,
  name: TaskToolName,
  rawArgs: unknown,
  ctx: ServerContext,
): Promise<CallToolResult | InputRequiredResult> => {
  // Already checked against the tool's schema by the SDK's dispatch.
  const args: Record<string, unknown> = { ...(rawArgs as Record<string, unknown>) };
  if (name === 'test_tool_with_task') {
    // SEP-2663 MRTR composition: input first (SEP-2322), then a task whose result carries the answer.
    const userName = acceptedContent<{ name: string }>(ctx.mcpReq.inputResponses, 'user_name')?.name;
    if (typeof userName !== 'string')
      return inputRequired({
        inputRequests: {
          user_name: inputRequired.elicit({ message: 'What is your name?', requestedSchema: nameForm }),
        },
      });
    args.userName = userName;
  }
  return taskOrNow(tasks, ctx, name, args, () => compute(name, args, ctx.mcpReq.signal));
};

const register = (server: McpServer, tasks: DurableTasks) => {
  server.registerTool(
    'greet',
    { description: 'Greets by name, at once (never a task)', inputSchema: z.object({ name: z.string() }) },
    async ({ name }) => text(`Hello, ${name}!`),
  );
  for (const [name, { description, schema }] of Object.entries(TASK_TOOLS) as [TaskToolName, TaskTool][])
    server.registerTool(name, { description, inputSchema: schema }, (args, ctx) =>
      callTaskTool(tasks, name, args, ctx),
    );
};

/** The tasks fixtures and the extension's methods, on one per-request server of the 2026-07-28 path. */
export const taskFixtures =
  (tasks: DurableTasks): ModernSurface =>
  (server, context) => {
    register(server, tasks);
    tasksMethods(tasks)(server, context);
  };
