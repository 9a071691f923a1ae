// EventStoreDB/KurrentDB adapter (EVENTSTORE_URL). Same contract as the others (test/eventstore/contract.ts);
// where ESDB behaves differently, the line that bridges the gap says so and cites the docs.
import { randomUUID } from 'node:crypto';
import {
  ANY,
  BACKWARDS,
  END,
  FORWARDS,
  KurrentDBClient,
  NO_STREAM,
  START as FROM_START,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  excludeSystemEvents,
  jsonEvent,
  type AllStreamResolvedEvent,
  type AppendStreamState,
  type CurrentStreamState,
  type EventData,
  type GetStreamMetadataResult,
  type JSONType,
  type Position,
  type ReadPosition,
  type ResolvedEvent,
  type StreamMetadata as EsdbStreamMetadata,
} from '@kurrent/kurrentdb-client';
import {
  DuplicateEventError,
  WrongExpectedVersionError,
  checkAppendMany,
  checkStorable,
  comparePositions,
  satisfies,
  type AppendResult,
  type EventLog,
  type ExpectedAppend,
  type ExpectedVersion,
  type GlobalPosition,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type StreamAppend,
  type StreamMetadata,
  type SubscribeOptions,
  type Subscription,
} from './port.ts';

/** The part of KurrentDBClient this adapter uses; tests hand in a stand-in with exactly these types. */
export type EsdbClient = Pick<
  KurrentDBClient,
  'appendToStream' | 'readStream' | 'readAll' | 'subscribeToAll' | 'setStreamMetadata' | 'getStreamMetadata' | 'dispose'
>;

/**
 * Event-metadata key that carries NewEvent.createdAt (`events import`): ESDB stamps `created` itself and
 * cannot be told otherwise. Read back into RecordedEvent.createdAt and removed from the metadata. No `$`
 * prefix: ESDB reserves `$` for its own metadata keys (docs "Event streams → Reserved names",
 * https://developers.eventstore.com/server/v24.10/features/streams.html#reserved-names).
 */
export const CREATED_AT_KEY = 'remotemcp.originalCreatedAt';

/** How often an append pinned by the duplicate check is retried after another writer got in between. */
const PINNED_ATTEMPTS = 5;
const DEFAULT_READ_ALL = 1_000;
/** Older servers report this "no position" value for events read from a stream (ulong.MaxValue). */
const NO_POSITION = 18_446_744_073_709_551_615n;

export class InvalidStreamNameError extends Error {
  constructor(
    readonly stream: string,
    reason: string,
  ) {
    super(`stream name ${JSON.stringify(stream)} ${reason}`);
    this.name = 'InvalidStreamNameError';
  }
}

// Reserved names: ESDB keeps system streams ($all, $$<stream> metadata, $users, $projections-…) under `$`, so a
// name from user input must never start with it (same docs section as CREATED_AT_KEY).
export const toEsdbStreamName = (stream: string): string => {
  if (stream.length === 0) throw new InvalidStreamNameError(stream, 'is empty');
  if (stream.startsWith('$'))
    throw new InvalidStreamNameError(stream, 'starts with "$", which EventStoreDB reserves for system streams');
  return stream;
};

export const toStreamState = (expected: ExpectedVersion): AppendStreamState =>
  expected === 'any'
    ? ANY
    : expected === 'no_stream'
      ? NO_STREAM
      : expected === 'stream_exists'
        ? STREAM_EXISTS
        : expected;

/** The client reports the stream's current revision, or NO_STREAM when it does not exist. */
export const fromCurrentState = (actual: CurrentStreamState): bigint | undefined =>
  actual === NO_STREAM || actual < 0n ? undefined : actual;

export const toEsdbPosition = (position: GlobalPosition): Position => ({
  commit: position.commit,
  prepare: position.prepare,
});

const validPosition = (position: Position | undefined): GlobalPosition | undefined =>
  position && position.commit !== NO_POSITION ? { commit: position.commit, prepare: position.prepare } : undefined;

// Stream reads carry the $all position only from server 22.6 on (https://github.com/kurrent-io/KurrentDB/pull/3459).
const positionOf = (resolved: ResolvedEvent | AllStreamResolvedEvent): GlobalPosition | undefined =>
  validPosition(resolved.event?.position) ??
  (resolved.commitPosition !== undefined && resolved.commitPosition !== NO_POSITION
    ? { commit: resolved.commitPosition, prepare: resolved.commitPosition }
    : undefined);

export const toEventData = (event: NewEvent): EventData => {
  // Event types starting with `$` are system events: the excludeSystemEvents filter below would hide them.
  if (event.type.startsWith('$'))
    throw new Error(`event type ${JSON.stringify(event.type)} starts with "$", which EventStoreDB reserves`);
  if (event.metadata && CREATED_AT_KEY in event.metadata)
    throw new Error(`event metadata key ${CREATED_AT_KEY} is reserved`);
  return jsonEvent({
    id: event.id ?? randomUUID(),
    type: event.type,
    // The client JSON.stringifies data whatever its type says, so any JSON value (null, numbers) round-trips.
    data: (event.data ?? null) as JSONType,
    metadata: event.createdAt
      ? { ...event.metadata, [CREATED_AT_KEY]: event.createdAt.toISOString() }
      : { ...event.metadata },
  });
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);

export const toRecorded = (resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | undefined => {
  const event = resolved.event;
  if (!event) return undefined;
  const position = positionOf(resolved);
  if (!position)
    throw new Error(`EventStoreDB returned event ${event.id} without a position (server older than 22.6?)`);
  const { [CREATED_AT_KEY]: original, ...metadata } = isRecord(event.metadata) ? event.metadata : {};
  const createdAt = typeof original === 'string' ? new Date(original) : undefined;
  return {
    id: event.id,
    stream: event.streamId,
    revision: event.revision,
    position,
    type: event.type,
    data: event.data,
    metadata,
    createdAt: createdAt && !Number.isNaN(createdAt.getTime()) ? createdAt : event.created,
  };
};

/** System events: `$`-typed ones are filtered by the server (excludeSystemEvents); `$` streams with plain types here. */
const isUserEvent = (event: RecordedEvent): boolean => !event.stream.startsWith('$') && !event.type.startsWith('$');

const positiveInteger = (name: string, value: number): number => {
  // $maxAge and $maxCount "must be >= 1" (docs "Event streams → Reserved names").
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be an integer ≥ 1, got ${value}`);
  return value;
};

export const toEsdbStreamMetadata = (metadata: StreamMetadata): EsdbStreamMetadata => {
  const truncateBefore = metadata.truncateBefore;
  if (truncateBefore !== undefined && (truncateBefore < 0n || truncateBefore > BigInt(Number.MAX_SAFE_INTEGER))) {
    throw new RangeError(`truncateBefore out of range: ${truncateBefore}`);
  }
  return {
    ...(metadata.maxAgeSeconds !== undefined
      ? { maxAge: positiveInteger('maxAgeSeconds', metadata.maxAgeSeconds) }
      : {}),
    ...(metadata.maxCount !== undefined ? { maxCount: positiveInteger('maxCount', metadata.maxCount) } : {}),
    ...(truncateBefore !== undefined ? { truncateBefore: Number(truncateBefore) } : {}),
  };
};

export const fromEsdbStreamMetadata = (result: GetStreamMetadataResult): StreamMetadata => {
  const metadata = result.metadata;
  if (!metadata) return {};
  return {
    ...(typeof metadata.maxAge === 'number' ? { maxAgeSeconds: metadata.maxAge } : {}),
    ...(typeof metadata.maxCount === 'number' ? { maxCount: metadata.maxCount } : {}),
    ...(typeof metadata.truncateBefore === 'number' ? { truncateBefore: BigInt(metadata.truncateBefore) } : {}),
  };
};

/** Reads a client iterator to the end; a stream that does not exist reads as empty (the client throws on iteration). */
const drain = async <T>(source: AsyncIterable<T>): Promise<T[]> => {
  const items: T[] = [];
  try {
    for await (const item of source) items.push(item);
  } catch (error) {
    if (error instanceof StreamNotFoundError) return [];
    throw error;
  }
  return items;
};

export class EsdbEventLog implements EventLog {
  readonly kind = 'esdb' as const;
  private readonly subscriptions = new Set<Subscription>();

  constructor(private readonly client: EsdbClient) {}

  /**
   * Duplicate ids: ESDB has no global index of event ids and does not reject a repeated id; it treats a repeated
   * write to the same stream as idempotent and may silently accept it ("KurrentDB will only append one of the
   * events", https://docs.kurrent.io/clients/node/v1.2/appending-events.html). So when the caller supplies ids,
   * this adapter reads the stream first and raises DuplicateEventError itself, then appends pinned to the
   * revision it checked. Unlike PostgreSQL, an id used in *another* stream is not detected.
   */
  async append(
    stream: string,
    events: readonly NewEvent[],
    options: { expectedVersion?: ExpectedVersion } = {},
  ): Promise<AppendResult> {
    const name = toEsdbStreamName(stream);
    if (events.length === 0) throw new Error('append needs at least one event');
    // EventStoreDB would store these, but the PostgreSQL read models could not project them.
    checkStorable([{ stream, events }]);
    const expected = options.expectedVersion ?? 'any';
    const callerIds = new Set<string>();
    for (const event of events) {
      if (event.id === undefined) continue;
      if (callerIds.has(event.id)) throw new DuplicateEventError(event.id);
      callerIds.add(event.id);
    }
    const data = events.map(toEventData);
    for (let attempt = 1; ; attempt += 1) {
      const sent = callerIds.size > 0 ? await this.checkedExpectation(name, callerIds, expected) : expected;
      try {
        return await this.appendOnce(name, data, sent, expected);
      } catch (error) {
        // Only a pin this adapter added ('any'/'stream_exists' → a revision) is retried; the caller's own is final.
        if (error instanceof WrongExpectedVersionError && sent !== expected && attempt < PINNED_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  /**
   * One append per stream, side by side: the client's multi-stream append needs KurrentDB 25.1 or newer,
   * and the group commit needs no cross-stream atomicity (each stream's share is atomic on its own).
   */
  async appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    checkAppendMany(appends);
    // Before any stream is written: a refusal then fails only the streams named (as on PostgreSQL).
    checkStorable(appends);
    return Promise.all(appends.map(({ stream, events }) => this.append(stream, events)));
  }

  /**
   * One append per stream, side by side (as appendMany), each with its own expectation: every failure is
   * reported in its stream's slot, since the streams that succeeded are written whatever the others met.
   */
  async appendEach(appends: readonly ExpectedAppend[]): Promise<(AppendResult | Error)[]> {
    checkAppendMany(appends);
    checkStorable(appends);
    return Promise.all(
      appends.map(({ stream, events, expectedVersion }) =>
        this.append(stream, events, { expectedVersion }).catch((error: unknown) =>
          error instanceof Error ? error : new Error(String(error)),
        ),
      ),
    );
  }

  /** Raises DuplicateEventError for an id already in the stream; returns the revision it checked, to append at. */
  private async checkedExpectation(
    stream: string,
    ids: ReadonlySet<string>,
    expected: ExpectedVersion,
  ): Promise<ExpectedVersion> {
    const existing = await this.readStream(stream);
    const observed = existing[existing.length - 1]?.revision;
    // A stream whose events all fall outside retention reads as empty: leave the caller's expectation to the server.
    const compatible = observed !== undefined && satisfies(expected, observed);
    const duplicate = existing.find((event) => ids.has(event.id));
    if (duplicate && observed !== undefined && !compatible)
      throw new WrongExpectedVersionError(stream, expected, observed);
    if (duplicate) throw new DuplicateEventError(duplicate.id);
    return compatible ? observed : expected;
  }

  private async appendOnce(
    stream: string,
    data: EventData[],
    sent: ExpectedVersion,
    expected: ExpectedVersion,
  ): Promise<AppendResult> {
    let result;
    try {
      // One call with every event: ESDB appends a batch atomically.
      result = await this.client.appendToStream(stream, data, { streamState: toStreamState(sent) });
    } catch (error) {
      if (error instanceof EsdbWrongExpectedVersionError)
        throw new WrongExpectedVersionError(stream, expected, fromCurrentState(error.actualState));
      throw error;
    }
    // With throwOnAppendFailure=false in the connection string the client reports the conflict in the result.
    if (!result.success) throw new WrongExpectedVersionError(stream, expected, await this.streamVersion(stream));
    // The append's own position is the last event's commit position only "90% of the time"
    // (https://github.com/kurrent-io/EventStore-Client-Go/issues/88): read the last event back so the position
    // matches what readAll and subscriptions report.
    const [last] = await drain(
      this.client.readStream(stream, { fromRevision: result.nextExpectedRevision, maxCount: 1 }),
    );
    const position =
      (last?.event?.revision === result.nextExpectedRevision ? positionOf(last) : undefined) ??
      validPosition(result.position);
    if (!position)
      throw new Error(`EventStoreDB did not report the position of ${stream}@${result.nextExpectedRevision}`);
    return { nextExpectedVersion: result.nextExpectedRevision, position };
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const name = toEsdbStreamName(stream);
    if (options.maxCount === 0) return [];
    const backwards = options.backwards === true;
    const resolved = await drain(
      this.client.readStream(name, {
        direction: backwards ? BACKWARDS : FORWARDS,
        fromRevision: options.fromRevision ?? (backwards ? END : FROM_START),
        ...(options.maxCount !== undefined ? { maxCount: options.maxCount } : {}),
      }),
    );
    return resolved.flatMap((event) => toRecorded(event) ?? []);
  }

  async streamVersion(stream: string): Promise<bigint | undefined> {
    const [last] = await this.readStream(stream, { backwards: true, maxCount: 1 });
    return last?.revision;
  }

  /**
   * Exclusive of `after`: a read of $all from a position includes the event at it (only subscriptions start
   * after it, https://github.com/kurrent-io/KurrentDB/issues/3230), so one more is read and that one dropped.
   */
  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const maxCount = options.maxCount ?? DEFAULT_READ_ALL;
    const events: RecordedEvent[] = [];
    let after = options.after;
    while (events.length < maxCount) {
      const wanted = maxCount - events.length + 1;
      const page = await drain(
        this.client.readAll({
          fromPosition: after ? toEsdbPosition(after) : FROM_START,
          maxCount: wanted,
          filter: excludeSystemEvents(),
        }),
      );
      let progressed = false;
      for (const resolved of page) {
        const event = toRecorded(resolved);
        if (!event || (after && comparePositions(event.position, after) <= 0)) continue;
        after = event.position;
        progressed = true;
        if (isUserEvent(event) && events.length < maxCount) events.push(event);
      }
      // A short page is the end of the log; a full one whose events were all system events reads on.
      if (page.length < wanted || !progressed) break;
    }
    return events;
  }

  /** Live subscription to $all (server push), batches of what has already arrived, delivered one at a time. */
  subscribeAll(options: SubscribeOptions): Subscription {
    const after = options.after;
    const batchSize = options.batchSize ?? 500;
    const source = this.client.subscribeToAll({
      // Exclusive: "You will only receive the next event after the subscribed position"
      // (https://docs.kurrent.io/clients/dotnet/v1.0/subscriptions.html).
      fromPosition: after ? toEsdbPosition(after) : FROM_START,
      filter: excludeSystemEvents(),
    });
    let closed = false;
    const deliver = async () => {
      const iterator = source[Symbol.asyncIterator]();
      while (!closed) {
        const first = await iterator.next();
        if (first.done) throw new Error('EventStoreDB ended the $all subscription');
        const batch = [first.value];
        while (batch.length < batchSize && source.readableLength > 0) {
          const next = await iterator.next();
          if (next.done) break;
          batch.push(next.value);
        }
        const events = batch
          .flatMap((resolved) => toRecorded(resolved) ?? [])
          .filter((event) => isUserEvent(event) && (!after || comparePositions(event.position, after) > 0));
        if (events.length > 0 && !closed) await options.onEvents(events);
      }
    };
    // destroy() ends the iteration; unsubscribe() alone cancels the call but need not end the readable.
    // A subscription whose call never opened has nothing to cancel, so its error is of no interest here.
    const stop = async () => {
      await source.unsubscribe().catch(() => undefined);
      source.destroy();
    };
    const running = deliver().catch(async (error: unknown) => {
      if (closed) return;
      closed = true;
      await stop();
      options.onError?.(error);
    });
    const subscription: Subscription = {
      close: async () => {
        this.subscriptions.delete(subscription);
        if (!closed) {
          closed = true;
          await stop();
        }
        await running;
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  async headPosition(): Promise<GlobalPosition | undefined> {
    let before: ReadPosition = END;
    for (;;) {
      const page = await drain(
        this.client.readAll({
          direction: BACKWARDS,
          fromPosition: before,
          maxCount: 100,
          filter: excludeSystemEvents(),
        }),
      );
      const events = page.flatMap((resolved) => toRecorded(resolved) ?? []);
      const newest = events.find(isUserEvent);
      if (newest) return newest.position;
      const oldest = events[events.length - 1];
      if (page.length < 100 || !oldest || (before !== END && comparePositions(oldest.position, before) >= 0))
        return undefined;
      before = toEsdbPosition(oldest.position);
    }
  }

  // Stream metadata lives in the `$$<stream>` stream; writing it replaces the previous settings, and reads
  // apply $maxAge/$maxCount/$tb at once (scavenging only reclaims the space later).
  async setStreamMetadata(stream: string, metadata: StreamMetadata): Promise<void> {
    await this.client.setStreamMetadata(toEsdbStreamName(stream), toEsdbStreamMetadata(metadata));
  }

  async getStreamMetadata(stream: string): Promise<StreamMetadata> {
    return fromEsdbStreamMetadata(await this.client.getStreamMetadata(toEsdbStreamName(stream)));
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    await this.client.dispose();
  }
}

/** `esdb://…` / `kurrentdb://…` connection string → adapter. */
export const openEsdbEventLog = (url: string): EsdbEventLog => new EsdbEventLog(KurrentDBClient.connectionString(url));
