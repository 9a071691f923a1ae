// Connects a real MCP SDK client to a real McpServer carrying our tools (in-memory transport), with
// real services from startTestServer (real database, real events).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { MCP_READ, MCP_WRITE } from '../../../domain/scopes.ts';
import type { OAuth } from '../../../app/oauth/index.ts';
import { createMcp } from '../../../mcp/index.ts';
import type { ToolCaller, Tools } from '../../../mcp/tools/index.ts';
import { StandInTokens } from '../support.ts';
import type { TestServer } from '../../support/server.ts';

export type Connected = {
  client: Client;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
};

export const caller = (userId: string, scopes: readonly string[] = [MCP_READ, MCP_WRITE]): ToolCaller => ({
  userId,
  clientId: 'test-client',
  scopes,
  sessionId: `session-${userId}`,
  tokenId: 'token-1',
});

export const connect = async (tools: Tools, who: ToolCaller): Promise<Connected> => {
  const server = new McpServer({ name: 'remotemcp-test', version: '0.0.0' });
  tools.register(server, who);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'test', version: '0.0.0' });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  return {
    client,
    call: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult,
    close: async () => {
      await client.close();
      await server.close();
    },
  };
};

/** The text of an isError result ("code: message"). */
export const errorText = (result: CallToolResult): string => {
  if (!result.isError) throw new Error(`expected an error result, got ${JSON.stringify(result).slice(0, 300)}`);
  const first = result.content[0];
  return first && first.type === 'text' ? first.text : '';
};

export const structured = <T = Record<string, unknown>>(result: CallToolResult): T => {
  if (result.isError) throw new Error(`tool failed: ${JSON.stringify(result.content)}`);
  return result.structuredContent as T;
};

/**
 * Serves /mcp of a test server with the real tools but bearer tokens from the /mcp tests' stand-in
 * issuer (signature, audience, expiry checked as the real verifier does), so tool suites run over HTTP
 * without driving the login flow.
 */
export const serveWithStandInTokens = async (server: TestServer): Promise<StandInTokens> => {
  const tokens = await StandInTokens.create();
  const oauth: Pick<OAuth, 'verifier'> = { verifier: tokens };
  const previous = server.services.mcp;
  server.services.mcp = await createMcp(server.services, oauth as OAuth, server.services.tools);
  await previous.close();
  return tokens;
};

/** The MCP SDK client over Streamable HTTP to the real /mcp, as `who` (token subject, client and scopes). */
export const connectHttp = async (server: TestServer, tokens: StandInTokens, who: ToolCaller): Promise<Connected> => {
  const resource = `${server.base}/mcp`;
  const { token } = await tokens.issue({
    sub: who.userId,
    clientId: who.clientId,
    scopes: [...who.scopes],
    aud: resource,
  });
  const client = new Client({ name: 'tools-e2e', version: '0.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(resource), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  return {
    client,
    call: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult,
    close: () => client.close(),
  };
};
