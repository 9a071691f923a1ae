// The tools both servers offer in the benchmark: a trivial echo (transport cost dominates) and a burst
// of notifications (for resumption).
import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { McpServer as ModernMcpServer } from '@modelcontextprotocol/server';

export const registerBenchTools = (server: McpServer): void => {
  server.registerTool('bench_echo', { description: 'echo', inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  server.registerTool(
    'bench_burst',
    { description: 'n notifications', inputSchema: { count: z.number().int() } },
    async ({ count }, extra) => {
      for (let i = 1; i <= count; i += 1)
        await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data: i } });
      return { content: [{ type: 'text', text: `sent ${count}` }] };
    },
  );
};

/** bench_echo on an SDK v2 server (the 2026-07-28 path, ours and the bare one). */
export const registerModernBenchTools = (server: ModernMcpServer): void => {
  server.registerTool(
    'bench_echo',
    { description: 'echo', inputSchema: z.object({ text: z.string() }) },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
};

type Handler = (request: { params: { name?: unknown } }, extra: unknown) => Promise<unknown>;

/**
 * The bench tools on a session whose tools/call is already the registry's: the SDK refuses a second
 * tools/call handler, so the registry's is set aside, the bench tools registered, and one handler sends
 * bench_* to the SDK's and the rest to the registry's (the handler map is not public: bench only).
 */
export const registerBenchToolsBeside = (server: McpServer): void => {
  const handlers = (server.server as unknown as { _requestHandlers: Map<string, Handler> })._requestHandlers;
  const registryCall = handlers.get('tools/call');
  const registryList = handlers.get('tools/list');
  handlers.delete('tools/call');
  handlers.delete('tools/list');
  // The session's server declared `tools` up front, so the SDK set (and then lost) its handlers already.
  (server as unknown as { _toolHandlersInitialized: boolean })._toolHandlersInitialized = false;
  registerBenchTools(server);
  const benchCall = handlers.get('tools/call')!;
  if (registryList) handlers.set('tools/list', registryList);
  if (registryCall)
    handlers.set('tools/call', (request, extra) =>
      String(request.params.name).startsWith('bench_') ? benchCall(request, extra) : registryCall(request, extra),
    );
};

/** bench_echo's arguments, built once (as the registry builds its tools' schemas once, at start). */
const ECHO_ARGUMENTS = z.object({ text: z.string() });

/** bench_echo from a table built once, as the registry serves its own tools on the 2026-07-28 path. */
const benchEcho = (request: { params: { arguments?: unknown } }): Promise<unknown> => {
  const parsed = ECHO_ARGUMENTS.safeParse(request.params.arguments ?? {});
  return Promise.resolve(
    parsed.success
      ? { content: [{ type: 'text', text: parsed.data.text }] }
      : { content: [{ type: 'text', text: `Input validation error: ${parsed.error.message}` }], isError: true },
  );
};

/**
 * The 2026-07-28 path with the registry's tools and bench_echo: one tools/call handler (the SDK checks
 * the request once, as for any handler) answers bench_* from a table built once and hands the rest to
 * the registry's handler, caught as the registry sets it (bench only).
 * (Registering bench_echo with the SDK's registerTool on every request's server would compile its schema
 * and convert it to JSON Schema per request: a cost of the bench harness, not of how our tools are served.)
 */
export const registerModernToolsBeside = (
  server: ModernMcpServer,
  tools: { registerModern(server: ModernMcpServer): void },
): void => {
  type SetHandler = (method: string, handler: Handler) => void;
  const inner = server.server as unknown as { setRequestHandler: SetHandler };
  const set = inner.setRequestHandler.bind(inner);
  let registryCall: Handler | undefined;
  inner.setRequestHandler = (method, handler) =>
    method === 'tools/call' ? void (registryCall = handler) : set(method, handler);
  try {
    tools.registerModern(server);
  } finally {
    delete (inner as { setRequestHandler?: SetHandler }).setRequestHandler;
  }
  set('tools/call', (request, extra) =>
    String(request.params.name).startsWith('bench_')
      ? benchEcho(request as { params: { arguments?: unknown } })
      : registryCall!(request, extra),
  );
};
