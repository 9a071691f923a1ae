// In-memory adapter: tests and fast paths. Same contract as the durable adapters (test/eventstore/contract.ts).
import { randomUUID } from 'node:crypto';
import {
  DuplicateEventError,
  WrongExpectedVersionError,
  comparePositions,
  checkAppendMany,
  checkStorable,
  satisfies,
  type AppendResult,
  type EventLog,
  type ExpectedAppend,
  type ExpectedVersion,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type StreamAppend,
  type StreamMetadata,
  type SubscribeOptions,
} from './port.ts';
import { PollingSubscriptions, Waker } from './polling.ts';
import { applyRetention } from './retention.ts';

export class MemoryEventLog implements EventLog {
  readonly kind = 'memory' as const;
  private readonly all: RecordedEvent[] = [];
  private readonly streams = new Map<string, RecordedEvent[]>();
  private readonly metadata = new Map<string, StreamMetadata>();
  private readonly ids = new Set<string>();
  private readonly waker = new Waker();
  private readonly subscriptions = new PollingSubscriptions(this, this.waker, 1_000);
  private sequence = 0n;

  constructor(private readonly now: () => Date = () => new Date()) {}

  async append(
    stream: string,
    events: readonly NewEvent[],
    options: { expectedVersion?: ExpectedVersion } = {},
  ): Promise<AppendResult> {
    return this.appendNow(stream, events, options.expectedVersion ?? 'any');
  }

  private appendNow(stream: string, events: readonly NewEvent[], expected: ExpectedVersion): AppendResult {
    if (events.length === 0) throw new Error('append needs at least one event');
    checkStorable([{ stream, events }]);
    const existing = this.streams.get(stream);
    const actual = existing && existing.length > 0 ? existing[existing.length - 1]!.revision : undefined;
    if (!satisfies(expected, actual)) throw new WrongExpectedVersionError(stream, expected, actual);
    const batchIds = new Set<string>();
    const prepared = events.map((event) => {
      const id = event.id ?? randomUUID();
      if (this.ids.has(id) || batchIds.has(id)) throw new DuplicateEventError(id);
      batchIds.add(id);
      return { ...event, id };
    });
    // Stored as JSON round-trips so callers cannot mutate what was appended (as with a real store).
    const list = existing ?? [];
    let revision = actual === undefined ? -1n : actual;
    const createdAt = this.now();
    for (const event of prepared) {
      revision += 1n;
      this.sequence += 1n;
      const recorded: RecordedEvent = {
        id: event.id,
        stream,
        revision,
        position: { commit: this.sequence, prepare: this.sequence },
        type: event.type,
        data: JSON.parse(JSON.stringify(event.data ?? null)) as unknown,
        metadata: JSON.parse(JSON.stringify(event.metadata ?? {})) as Record<string, unknown>,
        createdAt: event.createdAt ?? createdAt,
      };
      list.push(recorded);
      this.all.push(recorded);
      this.ids.add(event.id);
    }
    this.streams.set(stream, list);
    this.waker.wake();
    const last = list[list.length - 1]!;
    return { nextExpectedVersion: last.revision, position: last.position };
  }

  /** All or nothing: the ids are checked before anything is stored. */
  async appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    checkAppendMany(appends);
    // As PostgreSQL: all or nothing, so every stream is checked before any is stored.
    checkStorable(appends);
    const ids = new Set<string>();
    for (const { events } of appends) {
      for (const event of events) {
        if (event.id === undefined) continue;
        if (this.ids.has(event.id) || ids.has(event.id)) throw new DuplicateEventError(event.id);
        ids.add(event.id);
      }
    }
    return appends.map(({ stream, events }) => this.appendNow(stream, events, 'any'));
  }

  /** As PostgreSQL: the streams whose expectation holds are written together, after every id is checked. */
  async appendEach(appends: readonly ExpectedAppend[]): Promise<(AppendResult | Error)[]> {
    checkAppendMany(appends);
    checkStorable(appends);
    const actuals = appends.map(({ stream }) => this.streams.get(stream)?.at(-1)?.revision);
    const passes = appends.map(({ expectedVersion }, index) => satisfies(expectedVersion, actuals[index]));
    const ids = new Set<string>();
    appends.forEach(({ events }, index) => {
      if (!passes[index]) return;
      for (const { id } of events) {
        if (id === undefined) continue;
        if (this.ids.has(id) || ids.has(id)) throw new DuplicateEventError(id);
        ids.add(id);
      }
    });
    return appends.map(({ stream, events, expectedVersion }, index) =>
      passes[index]
        ? this.appendNow(stream, events, expectedVersion)
        : new WrongExpectedVersionError(stream, expectedVersion, actuals[index]),
    );
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const visible = applyRetention(this.streams.get(stream) ?? [], this.metadata.get(stream) ?? {}, this.now());
    let events = options.backwards ? [...visible].reverse() : visible;
    if (options.fromRevision !== undefined) {
      const from = options.fromRevision;
      events = events.filter((event) => (options.backwards ? event.revision <= from : event.revision >= from));
    }
    return options.maxCount !== undefined ? events.slice(0, options.maxCount) : [...events];
  }

  async streamVersion(stream: string): Promise<bigint | undefined> {
    const list = this.streams.get(stream);
    return list && list.length > 0 ? list[list.length - 1]!.revision : undefined;
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const after = options.after;
    const events = after ? this.all.filter((event) => comparePositions(event.position, after) > 0) : this.all;
    return events.slice(0, options.maxCount ?? events.length);
  }

  subscribeAll(options: SubscribeOptions) {
    return this.subscriptions.subscribe(options);
  }

  async headPosition() {
    return this.all[this.all.length - 1]?.position;
  }

  async setStreamMetadata(stream: string, metadata: StreamMetadata): Promise<void> {
    this.metadata.set(stream, { ...metadata });
  }

  async getStreamMetadata(stream: string): Promise<StreamMetadata> {
    return { ...(this.metadata.get(stream) ?? {}) };
  }

  /** Physically drops what retention hides (the scheduled cleanup does this on PostgreSQL). */
  async scavenge(): Promise<number> {
    let removed = 0;
    for (const [stream, list] of this.streams) {
      const kept = new Set(applyRetention(list, this.metadata.get(stream) ?? {}, this.now()));
      const dropped = list.filter((event) => !kept.has(event));
      if (dropped.length === 0) continue;
      removed += dropped.length;
      const droppedIds = new Set(dropped.map((event) => event.id));
      this.streams.set(
        stream,
        list.filter((event) => kept.has(event)),
      );
      for (let i = this.all.length - 1; i >= 0; i -= 1) if (droppedIds.has(this.all[i]!.id)) this.all.splice(i, 1);
    }
    return removed;
  }

  async close(): Promise<void> {
    this.waker.wake();
  }
}
