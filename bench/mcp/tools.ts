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
