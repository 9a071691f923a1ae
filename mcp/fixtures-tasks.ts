// MCP_CONFORMANCE_FIXTURES, tasks extension (io.modelcontextprotocol/tasks, SEP-2663): the tools the
// suite's tasks-* scenarios call by name (`greet`, `slow_compute`, `failing_job`, `protocol_error_job`).
// The task tools run as durable tasks (mcp/modern/tasks.ts) exactly as the product's fs tools do: created
// in the log, polled, cancelled and read from any instance. Test fixtures, not product features.
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { CallToolResult, McpServer } from '@modelcontextprotocol/server';
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
    case 'protocol_error_job':
      // Not a tool error but a failure of the server's own: the task ends `failed` with a JSON-RPC error.
      throw new Error('protocol_error_job fails the way a server fault does');
    default:
      throw new Error(`no task fixture ${tool}`);
  }
};

export const runTaskFixture: TaskRunner = (tool, args, _caller, signal) => compute(tool, args, signal);

const register = (server: McpServer, tasks: DurableTasks) => {
  server.registerTool(
    'greet',
    { description: 'Greets by name, at once (never a task)', inputSchema: z.object({ name: z.string() }) },
    async ({ name }) => text(`Hello, ${name}!`),
  );
  const taskTool = (name: string, description: string, inputSchema: z.ZodObject) =>
    server.registerTool(name, { description, inputSchema }, async (args, ctx) =>
      taskOrNow(tasks, ctx, name, args as Record<string, unknown>, () => compute(name, args, ctx.mcpReq.signal)),
    );
  taskTool(
    'slow_compute',
    'Sleeps `seconds` seconds, then answers (a task for a client of the tasks extension)',
    SlowCompute,
  );
  taskTool('failing_job', 'Ends with a tool error after about a second (a task)', z.object({}));
  taskTool('protocol_error_job', 'Fails as the server would on a fault (a task)', z.object({}));
};

/** The tasks fixtures and the extension's methods, on one per-request server of the 2026-07-28 path. */
export const taskFixtures =
  (tasks: DurableTasks): ModernSurface =>
  (server, context) => {
    register(server, tasks);
    tasksMethods(tasks)(server, context);
  };
