// MCP sessions on this instance: one SDK server + transport per session, built on first use from the
// session's stream in the event log (so any instance can serve any session), dropped when idle, closed
// or expired. The SDK keeps per-session protocol state in memory; the log is what makes it portable.
// An idle session costs no memory here: its server is evicted after MCP_SESSION_IDLE_TIMEOUT and rebuilt
// from the log by its next request, as on any other instance.
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import type { JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import type { CoreServices } from '../app/core.ts';
import { handleCommand, loadAggregate } from '../app/handle.ts';
import { isLive, mcpSessionDecider, messageStream, sessionStream } from '../domain/sessions/index.ts';
import type { ToolCaller } from './tools/index.ts';
import { toStorable } from '../eventstore/storable.ts';
import { rehydrate } from './rehydrate.ts';
import { McpResumption, STANDALONE_STREAM } from './resumption.ts';
import type { SessionCapRefusal, SessionCaps } from './session-caps.ts';
import type { StreamSlots } from './streams.ts';
import { SessionTransport } from './transport.ts';

/** Who is calling, resolved from the bearer token (or the fixtures user). */
export type McpCaller = Omit<ToolCaller, 'sessionId'>;

export type SessionHost = {
  readonly sessionId: string;
  readonly userId: string;
  readonly clientId: string;
  /** The negotiated revision (the client's, when we speak it; see http/mcp/post.ts). */
  readonly protocolVersion: string;
  readonly expiresAt: Date;
  readonly server: McpServer;
  readonly transport: SessionTransport;
  readonly resumption: McpResumption;
  lastUsed: number;
  closed: boolean;
};

/** Registers what a session's server offers (tools from the registry, or the conformance fixtures). */
export type RegisterCapabilities = (server: McpServer, caller: ToolCaller) => void;

export const SERVER_INFO = { name: 'remotemcp', version: '0.1.0' } as const;
/** Suggested reconnect delay for SSE clients (the `retry:` field of the priming event). */
export const RETRY_MS = 1_000;

// One Ajv for every session's server: each McpServer would otherwise build its own, a large share of a short request's CPU.
const validator = new AjvJsonSchemaValidator();

const ownedBy = (host: { userId: string; clientId: string }, caller: McpCaller): boolean =>
  host.userId === caller.userId && host.clientId === caller.clientId;

export class SessionHosts {
  private readonly hosts = new Map<string, SessionHost>();
  private readonly loading = new Map<string, Promise<SessionHost | undefined>>();
  private readonly flushing = new Set<Promise<void>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly core: CoreServices,
    private readonly register: RegisterCapabilities,
    private readonly caps: SessionCaps | undefined,
    private readonly streams: StreamSlots,
    /** Requests that change nothing: their last response goes out with its append under way (mcp/transport.ts). */
    private readonly readsOnly: (request: JSONRPCRequest) => boolean = () => false,
  ) {
    const idleMs = core.config.mcpSessionIdleTimeoutMs;
    this.sweeper = setInterval(() => this.sweep(), Math.max(1_000, Math.min(idleMs / 2, 60_000)));
    this.sweeper.unref();
  }

  private get lifetimeMs(): number {
    return this.core.config.eventRetentionMs;
  }

  /**
   * A new session for an `initialize` request, in the log before the client learns its id; or, when the
   * caller is at its user's or token's session cap, the refusal (nothing written, nothing built).
   */
  async open(
    caller: McpCaller,
    initializeParams: Record<string, unknown>,
    now = new Date(),
  ): Promise<SessionHost | SessionCapRefusal> {
    const sessionId = randomUUID();
    const expiresAt = new Date(now.getTime() + this.lifetimeMs);
    const append = () => this.append(sessionId, caller, initializeParams, now);
    const refusal = this.caps ? await this.caps.admit(caller, { sessionId, expiresAt }, append, now) : await append();
    if (refusal) return refusal;
    const host = this.build(sessionId, caller, String(initializeParams.protocolVersion), expiresAt);
    this.hosts.set(sessionId, host);
    return host;
  }

  /** Appends the session's opening event (and its message stream's retention); from then on any instance serves it. */
  private async append(
    sessionId: string,
    caller: McpCaller,
    initializeParams: Record<string, unknown>,
    now: Date,
  ): Promise<undefined> {
    // Retention of the message stream is set before its first message (EVENT_RETENTION*, app/config.ts).
    await this.core.log.setStreamMetadata(messageStream(sessionId), {
      maxAgeSeconds: Math.ceil(this.core.config.eventRetentionMs / 1_000),
      maxCount: this.core.config.eventRetentionMaxPerStream,
    });
    await handleCommand(
      this.core.log,
      sessionStream(sessionId),
      mcpSessionDecider,
      {
        type: 'OpenSession',
        sessionId,
        userId: caller.userId,
        clientId: caller.clientId,
        tokenId: caller.tokenId,
        // Client-chosen names and capabilities: U+FFFD for what PostgreSQL cannot store (eventstore/storable.ts).
        initializeParams: toStorable(initializeParams),
        now,
        lifetimeMs: this.lifetimeMs,
      },
      { actor: { type: 'user', id: caller.userId } },
    );
    return undefined;
  }

  /** The caller's live session, from this instance or rebuilt from the log; undefined when unknown, closed, expired or someone else's. */
  async find(sessionId: string, caller: McpCaller, now = new Date()): Promise<SessionHost | undefined> {
    let host = this.hosts.get(sessionId);
    if (host && (host.closed || host.expiresAt <= now)) {
      this.drop(sessionId);
      host = undefined;
    }
    if (!host) {
      let pending = this.loading.get(sessionId);
      if (!pending) {
        pending = this.load(sessionId, caller, now).finally(() => this.loading.delete(sessionId));
        this.loading.set(sessionId, pending);
      }
      host = await pending;
    }
    if (!host || !ownedBy(host, caller)) return undefined;
    host.lastUsed = Date.now();
    return host;
  }

  /** DELETE: ends the session for every instance (the closing event reaches the others through the feed). */
  async end(
    host: SessionHost,
    caller: McpCaller,
    reason: 'deleted' | 'expired' = 'deleted',
    now = new Date(),
  ): Promise<void> {
    await host.resumption.flush();
    await handleCommand(
      this.core.log,
      sessionStream(host.sessionId),
      mcpSessionDecider,
      { type: 'CloseSession', reason, now },
      { actor: { type: 'user', id: caller.userId } },
    );
    this.closed(host.sessionId);
  }

  /** A session closed (here or elsewhere) or expired: it stops counting against its user's caps. */
  closed(sessionId: string): void {
    this.caps?.closedHere(sessionId);
    this.drop(sessionId);
  }

  /** Whether a client holds the session's standalone GET stream open on this instance (admin panel's "live"). */
  attached(sessionId: string): boolean {
    return this.streams.holds(sessionId, STANDALONE_STREAM);
  }

  /** Forgets the in-memory server of a session (closed elsewhere, expired or idle); the log keeps it. */
  drop(sessionId: string): void {
    const host = this.hosts.get(sessionId);
    if (!host) return;
    this.hosts.delete(sessionId);
    host.closed = true;
    void host.transport.close().catch(() => undefined);
    // Priming events are written behind: they still reach the log (a later resume may need them).
    const flushed: Promise<void> = host.resumption.flush().finally(() => this.flushing.delete(flushed));
    this.flushing.add(flushed);
  }

  private async load(sessionId: string, caller: McpCaller, now: Date): Promise<SessionHost | undefined> {
    const { state } = await loadAggregate(this.core.log, sessionStream(sessionId), mcpSessionDecider);
    if (state.status === 'absent' || !isLive(state, now)) return undefined;
    if (!ownedBy(state, caller)) return undefined;
    const host = this.build(sessionId, caller, state.protocolVersion, state.expiresAt);
    await rehydrate(host, state);
    this.hosts.set(sessionId, host);
    return host;
  }

  private build(sessionId: string, caller: McpCaller, protocolVersion: string, expiresAt: Date): SessionHost {
    const server = new McpServer(SERVER_INFO, {
      capabilities: { tools: {}, logging: {} },
      jsonSchemaValidator: validator,
    });
    this.register(server, { ...caller, sessionId });
    const resumption = new McpResumption(
      this.core.log,
      this.core.groupCommit,
      sessionId,
      this.core.logger,
      this.core.config.mcpReplayMaxBytes,
      caller.userId,
    );
    const transport = new SessionTransport(sessionId, resumption, RETRY_MS, this.readsOnly);
    transport.onerror = (error) => this.core.logger.debug({ err: error, sessionId }, 'mcp transport');
    const host: SessionHost = {
      sessionId,
      userId: caller.userId,
      clientId: caller.clientId,
      protocolVersion,
      expiresAt,
      server,
      transport,
      resumption,
      lastUsed: Date.now(),
      closed: false,
    };
    void server.connect(transport);
    transport.routeTo(server.server);
    return host;
  }

  /**
   * Evicts expired sessions and idle ones: no request for MCP_SESSION_IDLE_TIMEOUT, none still running,
   * and no standalone GET stream here (its server sends tools/list_changed to that stream).
   */
  sweep(now = Date.now()): void {
    const idleMs = this.core.config.mcpSessionIdleTimeoutMs;
    for (const [sessionId, host] of this.hosts) {
      if (host.expiresAt.getTime() <= now) this.drop(sessionId);
      else if (
        now - host.lastUsed > idleMs &&
        !host.transport.busy &&
        !this.streams.holds(sessionId, STANDALONE_STREAM)
      )
        this.drop(sessionId);
    }
  }

  /** Whether the session's server is in memory here (not evicted, not yet rebuilt). */
  isHosted(sessionId: string): boolean {
    return this.hosts.has(sessionId);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    for (const sessionId of [...this.hosts.keys()]) this.drop(sessionId);
    await Promise.all([...this.flushing]);
  }
}
