// The registry: binds declared tools to one MCP server per session, checks enablement and scopes on
// every call, audits every call, and turns every failure into an `isError` result (never a broken stream).
import { randomUUID } from 'node:crypto';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ListToolsResult, McpServer as ModernMcpServer } from '@modelcontextprotocol/server';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  type CallToolResult,
  type Tool as ListedTool,
} from '@modelcontextprotocol/sdk/types.js';
import type { CoreServices } from '../../app/core.ts';
import type { Actor, DomainError } from '../../domain/shared.ts';
import { toolSettingDecider, toolStream, type TOOL_OUTCOMES } from '../../domain/tools/index.ts';
import { handleCommand } from '../../app/handle.ts';
import { recordToolCall, summarizeArguments } from './audit.ts';
import { ToolError, type Tool, type ToolContext } from './define.ts';
import { toolErrorResult, toolErrorText, toolFailureOf, unknownToolResult } from './errors.ts';
import type { ToolCaller } from './define.ts';
import { disabledToolNames } from '../../projections/tools/settings.queries.ts';
import { toolSettingsProjection } from '../../projections/tools/settings.ts';
import { progressNotifier } from './progress.ts';

export type ToolInfo = {
  name: string;
  title: string;
  description: string;
  scope: string;
  enabled: boolean;
  annotations: Tool['annotations'];
};

const SETTINGS_TTL_MS = 1_000;

export class ToolRegistry {
  private readonly tools: ReadonlyMap<string, Tool>;
  /** tools/list entries, built once: the schemas declared here (JSON Schema 2020-12, the MCP 2025-11-25 default dialect). */
  private readonly listed: readonly ListedTool[];
  private disabled: { names: Set<string>; loadedAt: number } | undefined;
  private loadingDisabled: Promise<Set<string>> | undefined;
  /** Moves when the settings change here: a load that overlapped the change is not kept. */
  private settingsGeneration = 0;
  private readonly servers = new Set<WeakRef<McpServer>>();
  /** Told when an admin enables or disables a tool (modern listeners: subscriptions/listen). */
  private readonly changeListeners = new Set<() => void>();

  constructor(
    private readonly core: CoreServices,
    tools: readonly Tool[],
  ) {
    this.tools = new Map(tools.map((tool) => [tool.name, tool]));
    this.listed = tools.map((tool) => ({
      name: tool.name,
      title: tool.title,
      description: tool.description,
      inputSchema: tool.inputJsonSchema as ListedTool['inputSchema'],
      outputSchema: tool.outputJsonSchema as ListedTool['inputSchema'],
      annotations: tool.annotations,
    }));
  }

  get(name: string): Tool | undefined {
    return this.tools.get(name);
  }

  /**
   * Names switched off by an admin (read model, cached briefly so every call does not query it). Calls
   * that find the cache expired together share one query; a query that overlapped a change (setEnabled,
   * forgetSettings) answers its callers but is not kept.
   */
  private disabledNames(): Promise<Set<string>> | Set<string> {
    if (this.disabled && Date.now() - this.disabled.loadedAt < SETTINGS_TTL_MS) return this.disabled.names;
    if (this.loadingDisabled) return this.loadingDisabled;
    const loading = this.loadDisabled();
    const settled = () => {
      if (this.loadingDisabled === loading) this.loadingDisabled = undefined;
    };
    loading.then(settled, settled);
    return (this.loadingDisabled = loading);
  }

  private async loadDisabled(): Promise<Set<string>> {
    const generation = this.settingsGeneration;
    const loadedAt = Date.now();
    const names = new Set(await disabledToolNames(this.core.db));
    if (generation === this.settingsGeneration) this.disabled = { names, loadedAt };
    return names;
  }

  async list(): Promise<ToolInfo[]> {
    const disabled = await this.disabledNames();
    return [...this.tools.values()].map((t) => ({
      name: t.name,
      title: t.title,
      description: t.description,
      scope: t.scope,
      enabled: !disabled.has(t.name),
      annotations: t.annotations,
    }));
  }

  async setEnabled(
    name: string,
    enabled: boolean,
    actor: Actor,
    options: { reason?: string; now?: Date } = {},
  ): Promise<boolean> {
    const now = options.now ?? new Date();
    const known = this.tools.has(name);
    const command = enabled
      ? { type: 'EnableTool' as const, name, known, now }
      : { type: 'DisableTool' as const, name, known, now, ...(options.reason ? { reason: options.reason } : {}) };
    const result = await handleCommand(this.core.log, toolStream(name), toolSettingDecider, command, { actor });
    await this.core.projections.waitFor(result.appended?.position, { projections: [toolSettingsProjection] });
    this.forgetSettings();
    // MCP tools/list_changed: live sessions on this instance learn about it at once.
    for (const ref of this.servers) {
      const server = ref.deref();
      if (!server) this.servers.delete(ref);
      else if (server.isConnected()) server.sendToolListChanged();
    }
    for (const listener of this.changeListeners) listener();
    return result.events.length > 0;
  }

  forgetSettings(): void {
    this.disabled = undefined;
    this.loadingDisabled = undefined;
    this.settingsGeneration += 1;
  }

  /** Calls `listener` after every change of the enabled set; returns the unsubscribe function. */
  onListChanged(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** tools/list: the declared order (registration order, fixed at start), minus disabled tools. */
  private async listEnabled(): Promise<{ tools: ListedTool[] }> {
    const disabled = await this.disabledNames();
    return { tools: this.listed.filter((tool) => !disabled.has(tool.name)) };
  }

  /**
   * Serves tools/list and tools/call on one per-request server of the 2026-07-28 path. The caller is
   * always the token on the HTTP request (`authInfo`, set by http/mcp/auth.ts): there is no session.
   */
  registerModern(server: ModernMcpServer): void {
    server.server.registerCapabilities({ tools: { listChanged: true } });
    // The same JSON objects as the legacy path; v2 types their schemas as JSON values, v1 as objects.
    server.server.setRequestHandler('tools/list', () => this.listEnabled() as Promise<ListToolsResult>);
    server.server.setRequestHandler('tools/call', async (request, ctx) => {
      const caller = callerOf(ctx.http?.authInfo, undefined);
      const tool = this.tools.get(request.params.name);
      if (!caller) throw new Error('a tool call reached the modern path without authentication');
      if (!tool) return unknownToolResult(request.params.name);
      return this.call(
        tool,
        request.params.arguments,
        caller,
        undefined,
        ctx.mcpReq.signal,
        progressNotifier(ctx.mcpReq._meta?.progressToken, (notification) => ctx.mcpReq.notify(notification)),
      );
    });
  }

  /**
   * One call outside any MCP request handler (the 2026-07-28 path's tools/call, or a durable task running
   * it, mcp/modern/tasks.ts): the same enablement and scope checks and the same audit event as a call on
   * a stream.
   */
  invoke(
    name: string,
    args: unknown,
    caller: ToolCaller,
    signal: AbortSignal,
    progress?: ToolContext['progress'],
    task = false,
  ): Promise<CallToolResult> {
    const tool = this.tools.get(name);
    if (!tool) return Promise.resolve(unknownToolResult(name));
    return this.call(tool, args, caller, undefined, signal, progress, task);
  }

  /**
   * Serves tools/list and tools/call on one session's server, bound to its caller. Two handlers per
   * session over the shared tool table: registering every tool on every session's McpServer cost about
   * 19 KB of heap per session (bench/mcp/idle-sessions.ts). Arguments are validated in tool.call, so
   * invalid ones are audited too; an unknown tool is an isError result, as the SDK's own handler answers.
   */
  register(server: McpServer, caller: ToolCaller): void {
    server.server.registerCapabilities({ tools: { listChanged: true } });
    server.server.setRequestHandler(ListToolsRequestSchema, () => this.listEnabled());
    server.server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const tool = this.tools.get(request.params.name);
      if (!tool) return unknownToolResult(request.params.name);
      // Authorization is per request: the token on this POST, not the one that opened the session (the
      // HTTP layer checked it belongs to the session's user and client).
      return this.call(
        tool,
        request.params.arguments,
        callerOf(extra.authInfo, caller)!,
        extra.sessionId,
        extra.signal,
        progressNotifier(extra._meta?.progressToken, (notification) => extra.sendNotification(notification)),
      );
    });
    // Servers of ended sessions leave a dead WeakRef: swept now and then, not only by setEnabled.
    if (this.servers.size % 256 === 255) for (const ref of this.servers) if (!ref.deref()) this.servers.delete(ref);
    this.servers.add(new WeakRef(server));
  }

  private async call(
    tool: Tool,
    args: unknown,
    caller: ToolCaller,
    transportSession: string | undefined,
    signal: AbortSignal,
    progress?: ToolContext['progress'],
    /** A durable task's call: its result waits for the audit's commit whatever the tool. */
    task = false,
  ): Promise<CallToolResult> {
    const started = performance.now();
    const now = new Date();
    const callId = randomUUID();
    // Summarized before the tool runs, and storable by construction (audit.ts): whatever the arguments
    // hold, the call's audit event can be written, so no effect happens without its audit event.
    const summary = summarizeArguments(args);
    let outcome: (typeof TOOL_OUTCOMES)[number] = 'ok';
    let error: DomainError | undefined;
    let result: CallToolResult;
    try {
      if ((await this.disabledNames()).has(tool.name))
        throw new ToolError('tool_disabled', `the tool ${tool.name} is disabled on this server`);
      if (!caller.scopes.includes(tool.scope))
        throw new ToolError('insufficient_scope', `the tool ${tool.name} needs the scope ${tool.scope}`);
      const done = await tool.call(args, { caller, callId, now, signal, progress });
      result = { content: done.content, structuredContent: done.structured };
    } catch (thrown) {
      error =
        signal.aborted && thrown === signal.reason
          ? new ToolError('cancelled', 'the call was cancelled by the client')
          : toolFailureOf(thrown);
      if (!error) {
        this.core.logger.error({ err: thrown, tool: tool.name, callId }, 'tool failed');
        error = new ToolError('internal_error', `the tool failed unexpectedly (call ${callId})`);
      }
      outcome = error.code === 'insufficient_scope' ? 'denied' : error.code === 'tool_disabled' ? 'disabled' : 'error';
      result = toolErrorResult(error);
    }
    const sessionId = caller.sessionId ?? transportSession;
    // On a session, queued and not awaited: the SDK stores the response through the same group commit in
    // this same turn of the event loop (mcp/resumption.ts), so the audit event lands in the response's
    // commit (one transaction) or an earlier one, without a round trip of its own. A tool that changes
    // something is answered only once that commit is done, so its audit is durable before the client has
    // the result; a read-only tool's response goes out with the commit under way (mcp/transport.ts).
    // Elsewhere no stored response carries it: on the 2026-07-28 path a read-only tool's result goes out
    // with its audit's commit under way, any other waits for it; a durable task always waits.
    // MCP_DURABLE_READS makes every call wait, reads included.
    const audited = recordToolCall(this.core.groupCommit, {
      callId,
      tool: tool.name,
      userId: caller.userId,
      clientId: caller.clientId,
      ...(sessionId ? { sessionId } : {}),
      ...(caller.tokenId ? { tokenId: caller.tokenId } : {}),
      arguments: summary,
      outcome,
      ...(error ? { error: toolErrorText(error).slice(0, 500) } : {}),
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      at: now.toISOString(),
    }).catch((failure: unknown) =>
      this.core.logger.error({ err: failure, tool: tool.name, callId }, 'tool call audit failed'),
    );
    const readAnswersFirst = tool.annotations.readOnlyHint && !task && !this.core.config.mcpDurableReads;
    if (!transportSession && !readAnswersFirst) await audited;
    return result;
  }
}

/** The caller named by a request's `authInfo` (http/mcp/post.ts builds it), bound to `bound`'s session. */
const callerOf = (authInfo: AuthInfo | undefined, bound: ToolCaller | undefined): ToolCaller | undefined => {
  if (!authInfo) return bound;
  const extra = (authInfo.extra ?? {}) as { userId?: unknown; tokenId?: unknown };
  if (typeof extra.userId !== 'string') return bound;
  return {
    userId: extra.userId,
    clientId: authInfo.clientId,
    scopes: authInfo.scopes,
    sessionId: bound?.sessionId,
    tokenId: typeof extra.tokenId === 'string' ? extra.tokenId : undefined,
  };
};
