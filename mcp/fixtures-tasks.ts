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
  ProtocolError,
  ProtocolErrorCode,
  type CallToolResult,
  type InputRequiredResult,
  type JSONRPCRequest,
  type McpServer,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { ModernSurface } from './modern/handler.ts';
import type { DurableTasks, TaskRunner } from './modern/tasks.ts';
import { requireTasks, taskOrNow, tasksMethods } from './modern/tasks-surface.ts';

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

/** How a fixture may run: `optional` a task for a client of the extension; `required` refused (-32021) to others. */
const TASK_TOOLS = {
  slow_compute: { support: 'optional', schema: SlowCompute, description: 'Sleeps `seconds` seconds, then answers' },
  failing_job: { support: 'required', schema: z.object({}), description: 'Ends with a tool error after a second' },
  protocol_error_job: { support: 'required', schema: z.object({}), description: 'Fails as on a server fault' },
  test_tool_with_task: {
    support: 'required',
    schema: z.object({}),
    description: 'Asks for a name (input_required), then answers in a task',
  },
} as const;
type TaskToolName = keyof typeof TASK_TOOLS;
const isTaskTool = (name: string): name is TaskToolName => Object.hasOwn(TASK_TOOLS, name);

const nameForm = {
  type: 'object' as const,
  properties: { name: { type: 'string' as const } },
  required: ['name'],
};

/** The answer to one task fixture call: input_required, a task, the result at once, or -32021. */
const callTaskTool = async (
  tasks: DurableTasks,
  name: TaskToolName,
  rawArgs: unknown,
  ctx: ServerContext,
): Promise<CallToolResult | InputRequiredResult> => {
  const { support, schema } = TASK_TOOLS[name];
  // SEP-2663 §Required Capabilities: a tool that cannot answer without a task refuses a client without them.
  if (support === 'required') requireTasks(ctx);
  const parsed = schema.safeParse(rawArgs ?? {});
  if (!parsed.success)
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      `Invalid arguments for tool ${name}: ${parsed.error.message}`,
    );
  const args: Record<string, unknown> = { ...parsed.data };
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
  for (const [name, { description, schema }] of Object.entries(TASK_TOOLS))
    server.registerTool(name, { description, inputSchema: schema }, () => {
      throw new Error(`${name} is answered by the tasks fixtures' tools/call`);
    });
  // The task tools need their own tools/call: a required tool answers -32021, which the SDK's tool
  // dispatch would turn into an isError result. Every other tool goes to the SDK's dispatch, read with
  // Protocol's protected accessor (fixtures only; the product's tools/call is the registry's own).
  const dispatch = server.server['_getRequestHandler']('tools/call');
  if (!dispatch) throw new Error('the fixtures register their tools before the tasks fixtures');
  server.server.setRequestHandler('tools/call', async (request, ctx) =>
    isTaskTool(request.params.name)
      ? ((await callTaskTool(tasks, request.params.name, request.params.arguments, ctx)) as CallToolResult)
      : ((await dispatch(request as unknown as JSONRPCRequest, ctx)) as CallToolResult),
  );
};

/** The tasks fixtures and the extension's methods, on one per-request server of the 2026-07-28 path. */
export const taskFixtures =
  (tasks: DurableTasks): ModernSurface =>
  (server, context) => {
    register(server, tasks);
    tasksMethods(tasks)(server, context);
  };
