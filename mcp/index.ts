// The MCP server side: who may call (bearer tokens for this resource), the sessions on this
// instance, the log feed that ties instances together, and the retention cleanup.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { CoreServices } from '../app/core.ts';
import type { OAuth } from '../app/oauth/index.ts';
import type { AccessTokenInfo } from '../app/auth-port.ts';
import { MCP_SCOPES } from '../domain/scopes.ts';
import { PostgresEventLog } from '../eventstore/postgres.ts';
import type { JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Tools } from './tools/index.ts';
import { SessionFeed } from './feed.ts';
import { SessionCaps } from './session-caps.ts';
import { SessionHosts, type McpCaller, type RegisterCapabilities } from './sessions.ts';
import { StreamSlots } from './streams.ts';
import { registerFixtures } from './fixtures.ts';
import { sweepExpiredSessions } from './retention.ts';
import { createModernMcp, type ModernMcp, type ModernSurface } from './modern/handler.ts';
import { EventLogBus } from './modern/event-bus.ts';
import { DurableTasks } from './modern/tasks.ts';
import { tasksSurface } from './modern/tasks-surface.ts';
import { registerModernFixtures } from './fixtures.ts';
import { runTaskFixture, taskFixtures } from './fixtures-tasks.ts';
import { MAX_BODY_BYTES } from './limits.ts';
import { toolSettingsProjection } from '../projections/tools/settings.ts';
import { toolAuditStream } from '../domain/tools/index.ts';

const TOOL_AUDIT_PREFIX = toolAuditStream('');

export type { McpCaller, SessionHost } from './sessions.ts';

/** Tools whose calls may run as durable tasks: walks of a large directory (read-only, so resumable). */
const TASK_TOOLS: ReadonlySet<string> = new Set(['fs_search_files', 'fs_directory_tree']);

export type Mcp = {
  /** MCP_CONFORMANCE_FIXTURES: unauthenticated, fixture tools/resources/prompts. */
  readonly fixtures: boolean;
  readonly sessions: SessionHosts;
  readonly feed: SessionFeed;
  /** GET streams attached on this instance (one reader per stream, a bound per session). */
  readonly streams: StreamSlots;
  /** The 2026-07-28 path: stateless, one server per request (mcp/modern/handler.ts). */
  readonly modern: ModernMcp;
  /** Where its `subscriptions/listen` streams hear of changes: the event log, so every instance's changes. */
  readonly bus: EventLogBus;
  /** Durable tasks of the tasks extension on the modern path (mcp/modern/tasks.ts). */
  readonly tasks: DurableTasks;
  /** Verifies a bearer token for `resource`, the request's PUBLIC_URL/mcp (throws InvalidTokenError). */
  authenticate(token: string, resource: string): Promise<McpCaller>;
  /** The caller of every request in fixtures mode. */
  readonly fixturesCaller: McpCaller;
  requiredScope(toolName: string): string | undefined;
  /** Scheduled cleanup: closes expired sessions, removes stream events past retention. */
  cleanup(now?: Date): Promise<{ expiredSessions: number; removedEvents: number }>;
  close(): Promise<void>;
};

/** Requests of a session that change nothing (MCP 2025-11-25 server/tools, server/utilities/ping). */
const READ_METHODS: ReadonlySet<string> = new Set(['ping', 'tools/list']);

/** A read method, or a call of a tool that only reads (its readOnlyHint annotation). */
const readsOnly =
  (tools: Pick<Tools, 'isReadOnly'>) =>
  (request: JSONRPCRequest): boolean =>
    READ_METHODS.has(request.method) ||
    (request.method === 'tools/call' && tools.isReadOnly(String(request.params?.name)));

export const callerFromToken = (info: AccessTokenInfo): McpCaller => ({
  userId: info.subject,
  clientId: info.clientId,
  scopes: info.scopes,
  tokenId: info.tokenId,
});

const FIXTURES_CALLER: McpCaller = {
  userId: 'conformance',
  clientId: 'conformance',
  scopes: [...MCP_SCOPES],
  tokenId: undefined,
};

export const createMcp = async (
  core: CoreServices,
  oauth: Pick<OAuth, 'verifier'>,
  tools: Pick<
    Tools,
    'register' | 'requiredScope' | 'registerModern' | 'onListChanged' | 'forgetSettings' | 'invoke' | 'isReadOnly'
  >,
  /** What the 2026 path serves instead of the registry and the tasks extension (or the fixtures): benches. */
  modernSurfaces?: readonly ModernSurface[],
): Promise<Mcp> => {
  const fixtures = core.config.mcpConformanceFixtures;
  const register: RegisterCapabilities = fixtures
    ? registerFixtures
    : (server, caller) => tools.register(server, caller);
  const streams = new StreamSlots(core.config.mcpMaxStreamsPerSession);
  // The conformance fixtures (loopback only) serve one made-up user whose suite opens many sessions: no caps.
  const caps = fixtures
    ? undefined
    : new SessionCaps(core.db, {
        perUser: core.config.mcpMaxSessionsPerUser,
        perToken: core.config.mcpMaxSessionsPerToken,
      });
  // The fixtures' tools are not the registry's: every fixture call waits for its commit (as every call
  // does with MCP_DURABLE_READS).
  const waitsForCommit = fixtures || core.config.mcpDurableReads;
  const sessions = new SessionHosts(core, register, caps, streams, waitsForCommit ? () => false : readsOnly(tools));
  // Changes reach listen streams through the log (an admin's tool switch included), on every instance.
  const bus = new EventLogBus(core.log, core.logger, {
    beforeToolsChanged: async (event) => {
      await core.projections.waitFor(event.position, { projections: [toolSettingsProjection] });
      tools.forgetSettings();
    },
  });
  await bus.start();
  // Long tool calls as durable tasks (in fixtures mode, the conformance suite's task tools instead).
  const tasks = new DurableTasks(core.log, core.db, core.logger, {
    instanceId: `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    // A task's progress goes to its stream (TaskProgressed): tasks/get shows it as the statusMessage.
    run: fixtures
      ? runTaskFixture
      : (tool, args, caller, signal, progress) => tools.invoke(tool, args, caller, signal, progress, true),
    // The fixtures change nothing: each may run again.
    isReadOnly: (tool) => fixtures || tools.isReadOnly(tool),
    maxResultBytes: core.config.mcpReplayMaxBytes,
  });
  const untap = bus.tap((event) => tasks.onLogEvent(event));
  if (!fixtures) tasks.start();
  const modern = createModernMcp({
    bus,
    surfaces:
      modernSurfaces ??
      (fixtures
        ? [registerModernFixtures, taskFixtures(tasks)]
        : [(server) => tools.registerModern(server), tasksSurface(tasks, tools, TASK_TOOLS)]),
    secret: () => core.secret,
    maxBodyBytes: MAX_BODY_BYTES,
    onerror: (error) => core.logger.debug({ err: error }, 'mcp modern path'),
  });
  const feed = new SessionFeed(core.log, core.logger, (sessionId) => sessions.closed(sessionId));
  await feed.start();
  // Most messages are read by nobody on this instance (their POST stream carried them): their commits
  // need not wake this instance's tail; other instances hear of them by NOTIFY, the projections at the
  // next read. A session with a GET stream here is woken for as before. Tool-call audit events too: only
  // the tool_calls read model reads them, and it takes them at the tail's next read (the log's poll at
  // the latest), many calls per transaction, instead of one wake-up of every subscription per commit.
  const unwatched = (stream: string) => stream.startsWith(TOOL_AUDIT_PREFIX) || feed.unwatched(stream);
  core.groupCommit.quiet = unwatched;

  const cleanup = async (now = new Date()) => {
    const expiredSessions = await sweepExpiredSessions(core, sessions, now);
    // PostgreSQL keeps hidden events until scavenged; EventStoreDB scavenges by the same metadata itself.
    const removedEvents = core.log instanceof PostgresEventLog ? await core.log.scavenge() : 0;
    return { expiredSessions, removedEvents };
  };
  const every = Math.min(core.config.eventRetentionMs, 10 * 60_000);
  const timer = setInterval(() => {
    cleanup().catch((error: unknown) => core.logger.warn({ err: error }, 'mcp retention cleanup failed'));
  }, every);
  timer.unref();

  return {
    fixtures,
    sessions,
    feed,
    streams,
    modern,
    bus,
    tasks,
    fixturesCaller: FIXTURES_CALLER,
    authenticate: async (token, resource) => callerFromToken(await oauth.verifier.verify(token, resource)),
    requiredScope: (name) => tools.requiredScope(name),
    cleanup,
    async close() {
      clearInterval(timer);
      await modern.close();
      untap();
      await tasks.close();
      await bus.close();
      if (core.groupCommit.quiet === unwatched) core.groupCommit.quiet = undefined;
      await sessions.close();
      await feed.close();
    },
  };
};
