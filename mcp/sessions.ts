// MCP sessions on this instance: one SDK server + transport per session, built on first use from the
// session's stream in the event log (so any instance can serve any session), dropped when idle, closed
// or expired. The SDK keeps per-session protocol state in memory; the log is what makes it portable.
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import type { CoreServices } from '../app/services.ts';
import { handleCommand, loadAggregate } from '../app/handle.ts';
import {
  isLive,
  mcpSessionDecider,
  messageStream,
  sessionStream,
  type McpSessionState,
} from '../domain/sessions/index.ts';
import type { ToolCaller } from './tools/index.ts';
import { McpResumption } from './resumption.ts';
import { SessionTransport, type SseSink } from './transport.ts';
import { toStorable } from '../eventstore/storable.ts';

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
  /** Standalone GET streams attached on this instance (at most one: MCP transports §Listening). */
  standaloneStreams: number;
};

/** Registers what a session's server offers (tools from the registry, or the conformance fixtures). */
export type RegisterCapabilities = (server: McpServer, caller: ToolCaller) => void;

export const SERVER_INFO = { name: 'remotemcp', version: '0.1.0' } as const;
const IDLE_MS = 10 * 60_000;
/** Suggested reconnect delay for SSE clients (the `retry:` field of the priming event). */
export const RETRY_MS = 1_000;

// One Ajv for every session's server: each McpServer would otherwise compile its own (NOTES.md).
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
  ) {
    this.sweeper = setInterval(() => void this.sweep(), 60_000);
    this.sweeper.unref();
  }

  private get lifetimeMs(): number {
    return this.core.config.eventRetentionMs;
  }

  /** A new session for an `initialize` request; `open` records it before the client learns its id. */
  create(caller: McpCaller, initializeParams: Record<string, unknown>, now = new Date()): SessionHost {
    return this.build(
      randomUUID(),
      caller,
      String(initializeParams.protocolVersion),
      new Date(now.getTime() + this.lifetimeMs),
    );
  }

  /** Appends the session's opening event (and its message stream's retention); from then on any instance serves it. */
  async open(
    host: SessionHost,
    caller: McpCaller,
    initializeParams: Record<string, unknown>,
    now = new Date(),
  ): Promise<void> {
    const { sessionId } = host;
    // Retention of the message stream is set before its first message (SPEC: EVENT_RETENTION*).
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
    this.hosts.set(sessionId, host);
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
    this.drop(host.sessionId);
  }

  /** Whether a client holds the session's standalone GET stream open on this instance (admin panel's "live"). */
  attached(sessionId: string): boolean {
    return (this.hosts.get(sessionId)?.standaloneStreams ?? 0) > 0;
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
    await this.rehydrate(host, state);
    this.hosts.set(sessionId, host);
    return host;
  }

  /** Replays the client's `initialize` into a fresh SDK server so it has the negotiated version and capabilities. */
  private async rehydrate(host: SessionHost, state: Exclude<McpSessionState, { status: 'absent' }>): Promise<void> {
    host.resumption.muted = true;
    try {
      let answered!: () => void;
      const done = new Promise<void>((resolve) => (answered = resolve));
      // The answer was sent long ago: it goes nowhere.
      const nowhere: SseSink = { write: () => undefined, end: () => answered(), onClose: () => undefined };
      await host.transport.dispatch(
        [
          {
            jsonrpc: '2.0',
            id: `rehydrate-${randomUUID()}`,
            method: 'initialize',
            params: state.initializeParams as never,
          },
        ],
        state.protocolVersion,
        nowhere,
      );
      await done;
      await host.transport.dispatch(
        [{ jsonrpc: '2.0', method: 'notifications/initialized' }],
        state.protocolVersion,
        undefined,
      );
    } finally {
      host.resumption.muted = false;
    }
  }

  private build(sessionId: string, caller: McpCaller, protocolVersion: string, expiresAt: Date): SessionHost {
    const server = new McpServer(SERVER_INFO, {
      capabilities: { tools: {}, logging: {} },
      jsonSchemaValidator: validator,
    });
    this.register(server, { ...caller, sessionId });
    const resumption = new McpResumption(this.core.log, this.core.groupCommit, sessionId, this.core.logger);
    const transport = new SessionTransport(sessionId, resumption, RETRY_MS);
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
      standaloneStreams: 0,
    };
    void server.connect(transport);
    return host;
  }

  private sweep(now = Date.now()): void {
    for (const [sessionId, host] of this.hosts) {
      if (host.expiresAt.getTime() <= now || (now - host.lastUsed > IDLE_MS && host.standaloneStreams === 0))
        this.drop(sessionId);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    for (const sessionId of [...this.hosts.keys()]) this.drop(sessionId);
    await Promise.all([...this.flushing]);
  }
}
