// The 2026-07-28 baseline: a bare SDK v2 server as its README shows it (createMcpHandler, a new McpServer
// per request, SDK defaults: its own validator per server), no auth, no event log, no Koa.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { registerModernBenchTools } from './tools.ts';

export const startBareModernServer = async (): Promise<{ url: string; close(): Promise<void> }> => {
  const handler = createMcpHandler(
    () => {
      const server = new McpServer({ name: 'bare-v2', version: '1' });
      registerModernBenchTools(server);
      return server;
    },
    { legacy: 'reject' },
  );
  const node = toNodeHandler(handler);
  const server = http.createServer((req, res) => void node(req as Parameters<typeof node>[0], res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: async () => {
      await handler.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
