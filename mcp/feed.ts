// One event-log subscription per instance that fans MCP events out to local listeners by session:
// a GET stream on this instance follows messages that any instance stored, and a session closed on
// another instance is dropped here. (No sticky sessions: the log is the only channel between instances.)
import type { Logger } from '../app/logger.ts';
import type { EventLog, Subscription } from '../eventstore/port.ts';
import { messageStream } from '../domain/sessions/index.ts';
import { toStoredMessage, type StoredMessage } from './resumption.ts';

export type FeedListener = {
  onMessage(stored: StoredMessage): void;
  onClosed(): void;
};

const MESSAGE_STREAM_PREFIX = messageStream('');
const sessionOf = (stream: string): string =>
  stream.startsWith(MESSAGE_STREAM_PREFIX) ? stream.slice(MESSAGE_STREAM_PREFIX.length) : '';

export class SessionFeed {
  private readonly listeners = new Map<string, Set<FeedListener>>();
  private subscription: Subscription | undefined;
  private starting: Promise<void> | undefined;

  constructor(
    private readonly log: EventLog,
    private readonly logger: Logger,
    private readonly onSessionClosed: (sessionId: string) => void,
  ) {}

  /** Starts following the log from its current head (history is read by replay, not by the feed). */
  start(): Promise<void> {
    this.starting ??= (async () => {
      const head = await this.log.headPosition();
      this.subscription = this.log.subscribeAll({
        ...(head ? { after: head } : {}),
        batchSize: 1_000,
        onEvents: async (events) => {
          for (const event of events) {
            if (event.type === 'McpEventEmitted') {
              // Most messages have no listener here (their request's POST stream carried them): skip
              // those before parsing.
              const sessionId = sessionOf(event.stream);
              const listeners = this.listeners.get(sessionId);
              if (!listeners) continue;
              const stored = toStoredMessage(event);
              if (!stored || (event.data as { sessionId?: unknown }).sessionId !== sessionId) continue;
              for (const listener of listeners) listener.onMessage(stored);
            } else if (event.type === 'McpSessionClosed') {
              const sessionId = (event.data as { sessionId?: unknown }).sessionId;
              if (typeof sessionId !== 'string') continue;
              this.onSessionClosed(sessionId);
              for (const listener of this.listeners.get(sessionId) ?? []) listener.onClosed();
            }
          }
        },
        onError: (error) => this.logger.error({ err: error }, 'mcp session feed stopped'),
      });
    })();
    return this.starting;
  }

  /** Whether a stream is a session's messages that nothing on this instance follows (the group commit need not wake the tail for it). */
  unwatched(stream: string): boolean {
    const sessionId = sessionOf(stream);
    return sessionId !== '' && !this.listeners.has(sessionId);
  }

  listen(sessionId: string, listener: FeedListener): () => void {
    let set = this.listeners.get(sessionId);
    if (!set) this.listeners.set(sessionId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(sessionId) === set) this.listeners.delete(sessionId);
    };
  }

  async close(): Promise<void> {
    await this.starting;
    await this.subscription?.close();
  }
}
