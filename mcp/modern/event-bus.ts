// The ServerEventBus of the 2026-07-28 path, fed by the event log instead of memory: every instance
// follows the log, so an admin switching a tool off on one instance reaches `subscriptions/listen`
// streams on all of them (MCP 2026-07-28 server/subscriptions: list_changed notifications go to the
// listen streams that asked for them). It also closes the listen streams of a revoked grant or token:
// a stream opened with a token must not outlive it.
import type { ServerEvent, ServerEventBus } from '@modelcontextprotocol/server';
import type { Logger } from '../../app/logger.ts';
import { McpServerEventPublished, SERVER_EVENTS_STREAM } from '../../domain/listen/events.ts';
import type { EventLog, RecordedEvent, Subscription } from '../../eventstore/port.ts';

/** Whose token opened a listen stream: a revoked grant or token closes it. */
export type ListenOwner = {
  readonly grantId: string | undefined;
  readonly tokenId: string | undefined;
  readonly userId: string;
  readonly clientId: string;
};

type OpenListen = ListenOwner & { readonly close: () => void; readonly openedAt: Date };

/** The log events that change what tools/list answers: the admin's tool switches (domain/tools). */
const TOOL_SWITCHES = new Set(['ToolEnabled', 'ToolDisabled']);
/** Keeps the published-events stream short: listeners follow it live, nobody replays it. */
const PUBLISHED_RETENTION = { maxCount: 1_000, maxAgeSeconds: 24 * 3600 };

const grantOf = (event: RecordedEvent): string | undefined => {
  const grantId = (event.data as { grantId?: unknown }).grantId;
  return typeof grantId === 'string' ? grantId : undefined;
};

export type { ServerEvent, ServerEventBus };

export class EventLogBus implements ServerEventBus {
  private readonly listeners = new Set<(event: ServerEvent) => void>();
  private readonly taps = new Set<(event: RecordedEvent) => void>();
  private readonly listens = new Set<OpenListen>();
  private subscription: Subscription | undefined;
  private starting: Promise<void> | undefined;
  private retention: Promise<void> | undefined;
  private publishing: Promise<void> = Promise.resolve();

  constructor(
    private readonly log: EventLog,
    private readonly logger: Logger,
    private readonly options: {
      /**
       * Awaited before a tool switch is announced: a client that lists the tools when told they changed
       * must see the change, so this instance's read model and caches catch up first.
       */
      readonly beforeToolsChanged?: (event: RecordedEvent) => Promise<void>;
    } = {},
  ) {}

  /** Follows the log from its head: listeners hear of changes made from now on, on any instance. */
  start(): Promise<void> {
    this.starting ??= (async () => {
      const head = await this.log.headPosition();
      this.subscription = this.log.subscribeAll({
        ...(head ? { after: head } : {}),
        batchSize: 1_000,
        onEvents: async (events) => {
          for (const event of events) {
            if (TOOL_SWITCHES.has(event.type))
              await this.options
                .beforeToolsChanged?.(event)
                .catch((error: unknown) =>
                  this.logger.warn({ err: error }, 'tools list not settled before list_changed'),
                );
            this.dispatch(event);
          }
        },
        onError: (error) => this.logger.error({ err: error }, 'mcp event bus stopped following the log'),
      });
    })();
    return this.starting;
  }

  private dispatch(event: RecordedEvent): void {
    if (TOOL_SWITCHES.has(event.type)) this.deliver({ kind: 'tools_list_changed' });
    else if (event.type === 'McpServerEventPublished') {
      const parsed = McpServerEventPublished.safeParse(event);
      if (parsed.success) {
        const { kind, uri } = parsed.data.data;
        if (kind !== 'resource_updated') this.deliver({ kind });
        else if (uri !== undefined) this.deliver({ kind, uri });
      }
    } else if (event.type === 'GrantRevoked') {
      const grantId = grantOf(event);
      if (grantId) this.closeWhere((listen) => listen.grantId === grantId);
    } else if (event.type === 'AccessTokenRevoked') {
      const tokenId = (event.data as { accessTokenId?: unknown }).accessTokenId;
      if (typeof tokenId === 'string') this.closeWhere((listen) => listen.tokenId === tokenId);
    }
    for (const tap of this.taps) {
      try {
        tap(event);
      } catch (error) {
        this.logger.error({ err: error, type: event.type }, 'mcp event bus tap failed');
      }
    }
  }

  private deliver(event: ServerEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.warn({ err: error, kind: event.kind }, 'listen stream listener failed');
      }
    }
  }

  private closeWhere(matches: (listen: OpenListen) => boolean): void {
    for (const listen of [...this.listens]) {
      if (!matches(listen)) continue;
      this.listens.delete(listen);
      listen.close();
    }
  }

  /**
   * Stores the change in the log; every instance (this one too) delivers it when it reads it back, so a
   * change is heard once everywhere. Fire and forget, as the SDK's publish is: a failure is logged.
   */
  publish(event: ServerEvent): void {
    const data = {
      kind: event.kind,
      ...(event.kind === 'resource_updated' ? { uri: event.uri } : {}),
      at: new Date().toISOString(),
    };
    // One after the other, so this instance's changes reach every listener in the order they were made.
    this.publishing = this.publishing
      .then(async () => {
        this.retention ??= this.log.setStreamMetadata(SERVER_EVENTS_STREAM, PUBLISHED_RETENTION);
        await this.retention;
        await this.log.append(SERVER_EVENTS_STREAM, [{ type: 'McpServerEventPublished', data }]);
      })
      .catch((error: unknown) => {
        this.retention = undefined;
        this.logger.error({ err: error, kind: event.kind }, 'could not publish a server event');
      });
  }

  subscribe(listener: (event: ServerEvent) => void): () => void {
    // A wrapper per subscription: the same function subscribed twice is two listeners, each removed once.
    const entry = (event: ServerEvent) => listener(event);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  /** Every event this instance reads from the log, after the bus handled it (the tasks follow cancellations). */
  tap(handler: (event: RecordedEvent) => void): () => void {
    this.taps.add(handler);
    return () => {
      this.taps.delete(handler);
    };
  }

  /** Registers an open listen stream; `close` ends it when its grant or token is revoked. Returns the release. */
  trackListen(owner: ListenOwner, close: () => void, now = new Date()): () => void {
    const listen: OpenListen = { ...owner, close, openedAt: now };
    this.listens.add(listen);
    return () => {
      this.listens.delete(listen);
    };
  }

  /** Open listen streams on this instance, by grant (the admin panel's "live" for stateless clients). */
  openListens(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const { grantId } of this.listens) if (grantId) counts.set(grantId, (counts.get(grantId) ?? 0) + 1);
    return counts;
  }

  /** Who holds the open listen streams here: grant, user and client of each grant with one. */
  listenOwners(): Array<{ grantId: string; userId: string; clientId: string; streams: number }> {
    const owners = new Map<string, { grantId: string; userId: string; clientId: string; streams: number }>();
    for (const { grantId, userId, clientId } of this.listens) {
      if (!grantId) continue;
      const owner = owners.get(grantId) ?? { grantId, userId, clientId, streams: 0 };
      owner.streams += 1;
      owners.set(grantId, owner);
    }
    return [...owners.values()];
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  async close(): Promise<void> {
    await this.publishing;
    await this.starting;
    await this.subscription?.close();
    this.closeWhere(() => true);
  }
}
