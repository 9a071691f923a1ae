// The tool registry and built-in tools: filesystem (fs_*), memory (memory_*), system (system_*).
// Scopes (README "Scopes"): read-only tools need mcp:tools:read; tools that change files or memory need mcp:tools:write.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { McpServer as ModernMcpServer } from '@modelcontextprotocol/server';
import type { CoreServices } from '../../app/core.ts';
import type { Actor } from '../../domain/shared.ts';
import { createFsTools } from './fs/index.ts';
import { createMemory, type Memory } from './memory/index.ts';
import { ToolRegistry, type ToolInfo } from './registry.ts';
import { systemTools } from './system.ts';
import type { ToolCaller, ToolProgress } from './define.ts';

export { ToolError, defineTool, type Tool, type ToolCaller, type ToolContext, type ToolProgress } from './define.ts';
export type { ToolInfo } from './registry.ts';

export type Tools = {
  /** Registers the enabled tools on one MCP server instance (one per MCP session), bound to its caller. */
  register(server: McpServer, caller: ToolCaller): void;
  /** Registers the tools on one per-request server of the 2026-07-28 path (caller: the request's token). */
  registerModern(server: ModernMcpServer): void;
  /**
   * Runs one call outside a registered handler (the 2026-07-28 path, a durable task): checks, audit and
   * result as on a stream. A task's result (`task`) waits for the audit's commit even for a read-only tool.
   */
  invoke(
    name: string,
    args: unknown,
    caller: ToolCaller,
    signal: AbortSignal,
    progress?: (report: ToolProgress) => void,
    task?: boolean,
  ): Promise<Record<string, unknown>>;
  /** Whether a tool only reads (its readOnlyHint annotation): a task of it may be run again elsewhere. */
  isReadOnly(name: string): boolean;
  /** Drops the cached enabled set (another instance switched a tool: the next list reads the read model). */
  forgetSettings(): void;
  /** Calls `listener` after an admin enabled or disabled a tool; returns the unsubscribe function. */
  onListChanged(listener: () => void): () => void;
  /** The scope a tool needs (for 403 insufficient_scope before dispatch); undefined for unknown tools. */
  requiredScope(name: string): string | undefined;
  /** Every built-in tool with its scope and whether it is enabled (admin panel, CLI). */
  list(): Promise<ToolInfo[]>;
  /** Enables or disables a tool (ToolEnabled / ToolDisabled events); false when nothing changed. Unknown names: DomainError unknown_tool. */
  setEnabled(name: string, enabled: boolean, actor: Actor, options?: { reason?: string }): Promise<boolean>;
  /** The memory store behind the memory_* tools (admin views, embeddings backfill). */
  readonly memory: Memory;
  close(): Promise<void>;
};

export const createTools = async (core: CoreServices): Promise<Tools> => {
  const fs = await createFsTools(core.config.fsRoots);
  const memory = await createMemory(core);
  const registry = new ToolRegistry(core, [...fs.tools, ...memory.tools, ...systemTools(core)]);
  return {
    register: (server, caller) => registry.register(server, caller),
    registerModern: (server) => registry.registerModern(server),
    onListChanged: (listener) => registry.onListChanged(listener),
    forgetSettings: () => registry.forgetSettings(),
    invoke: (name, args, caller, signal, progress, task) => registry.invoke(name, args, caller, signal, progress, task),
    isReadOnly: (name) => registry.get(name)?.annotations.readOnlyHint === true,
    requiredScope: (name) => registry.get(name)?.scope,
    list: () => registry.list(),
    setEnabled: (name, enabled, actor, options) => registry.setEnabled(name, enabled, actor, options),
    memory,
    close: () => memory.close(),
  };
};
