// The tool registry and built-in tools (issue 6). Placeholder until it lands: no tools.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CoreServices } from '../../app/services.ts';

/** Who is calling, for scope checks and the audit events of every tool call. */
export type ToolCaller = {
  readonly userId: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly sessionId: string | undefined;
  readonly tokenId: string | undefined;
};

export type Tools = {
  /** Registers the enabled tools on one MCP server instance (one per MCP session), bound to its caller. */
  register(server: McpServer, caller: ToolCaller): void;
  /** The scope a tool needs (for 403 insufficient_scope before dispatch); undefined for unknown tools. */
  requiredScope(name: string): string | undefined;
  close(): Promise<void>;
};

export const createTools = async (_core: CoreServices): Promise<Tools> => ({
  register: () => undefined,
  requiredScope: () => undefined,
  close: async () => undefined,
});
