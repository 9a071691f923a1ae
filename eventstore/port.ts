// The event log port. Named EventLog because the MCP SDK already has an `EventStore` (its resumability
// interface); our adapter for that one is mcp/resumption.ts.
import { findUnstorable, isStorableText, toStorableText } from './storable.ts';

/**
 * Where an event sits in the global order. Two numbers, compared (commit, prepare) lexicographically:
 * - PostgreSQL: commit = the appending transaction's id (xid8), prepare = the row's sequence number.
 *   Readers only see transactions older than every running one that may write the log (eventstore/postgres.ts
 *   `horizon`), and every later commit has an id ≥ that horizon, so nothing can appear behind a position
 *   already read.
 * - EventStoreDB/KurrentDB: its own commit/prepare positions in the transaction log.
 * - memory: both equal the sequence number.
 */
export type GlobalPosition = { readonly commit: bigint; readonly prepare: bigint };

export const START: GlobalPosition = { commit: 0n, prepare: 0n };

export const comparePositions = (a: GlobalPosition, b: GlobalPosition): number =>
  a.commit < b.commit ? -1 : a.commit > b.commit ? 1 : a.prepare < b.prepare ? -1 : a.prepare > b.prepare ? 1 : 0;

export const positionToString = (p: GlobalPosition): string => `${p.commit}/${p.prepare}`;

/**
 * Expected version of a stream before an append. A number is the revision (0-based) of the stream's
 * last event; 'no_stream' means the stream must not exist; 'stream_exists' that it must; 'any' skips the check.
 */
export type ExpectedVersion = bigint | 'no_stream' | 'stream_exists' | 'any';

export type EventMetadata = Record<string, unknown>;

export type NewEvent = {
  readonly type: string;
  readonly data: unknown;
  readonly metadata?: EventMetadata;
  /** UUID; generated when omitted. Appending the same id twice is rejected (idempotency guard). */
  readonly id?: string;
  /** Only for `events import`: keeps the original time. Commands never set it. */
  readonly createdAt?: Date;
};

export type RecordedEvent = {
  readonly id: string;
  readonly stream: string;
  /** 0-based position of the event inside its stream. */
  readonly revision: bigint;
  readonly position: GlobalPosition;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: EventMetadata;
  readonly createdAt: Date;
};

/** One stream's share of an appendMany. */
export type StreamAppend = { readonly stream: string; readonly events: readonly NewEvent[] };

/** One stream's share of an appendEach: its events and the version it expects. */
export type ExpectedAppend = StreamAppend & { readonly expectedVersion: ExpectedVersion };

export type AppendResult = {
  /** Revision of the last appended event: pass it as expectedVersion for the next append. */
  readonly nextExpectedVersion: bigint;
  readonly position: GlobalPosition;
};

/** Retention settings of a stream, as EventStoreDB names them ($maxAge in seconds, $maxCount, $tb). */
export type StreamMetadata = {
  readonly maxAgeSeconds?: number;
  readonly maxCount?: number;
  readonly truncateBefore?: bigint;
};

export type ReadStreamOptions = {
  readonly fromRevision?: bigint;
  readonly maxCount?: number;
  readonly backwards?: boolean;
};
export type ReadAllOptions = {
  readonly after?: GlobalPosition;
  readonly maxCount?: number;
  /**
   * The only types whose data the reader looks at (a rebuild: what its projections read). Events of
   * other types still come, in order, with their position and type, but an adapter may leave the rest
   * empty: data null, metadata {}, id and stream '', revision -1, createdAt the epoch.
   */
  readonly dataOf?: readonly string[];
  /**
   * With dataOf: the only types whose metadata the reader looks at (a rebuild: those of its projections
   * that read metadata). Events of dataOf's other types still come with their data, but an adapter may
   * leave their metadata {}.
   */
  readonly metadataOf?: readonly string[];
};

export type Subscription = { close(): Promise<void> };
export type SubscribeOptions = {
  readonly after?: GlobalPosition;
  readonly batchSize?: number;
  /** Called with each batch in global order; the next batch waits until it resolves. A throw stops the subscription. */
  readonly onEvents: (events: RecordedEvent[]) => Promise<void>;
  readonly onError?: (error: unknown) => void;
};

export type AppendManyOptions = {
  /**
   * Asked once the events are written: true when this instance's own subscriptions need not be woken
   * for them (they read them at their next wake-up or poll). Other instances are told as usual. A hint:
   * a store whose subscriptions are pushed, or that wakes them in memory, may ignore it.
   */
  readonly quiet?: () => boolean;
};

export interface EventLog {
  readonly kind: 'memory' | 'postgres' | 'esdb';
  /**
   * Appends atomically: all events or none (one command = one append). Every adapter refuses events whose
   * data or metadata hold text PostgreSQL cannot store (UnstorableEventError, before anything is written):
   * the read models are PostgreSQL whatever the log, and an event they cannot project would stop them.
   */
  append(
    stream: string,
    events: readonly NewEvent[],
    options?: { expectedVersion?: ExpectedVersion },
  ): Promise<AppendResult>;
  /**
   * Appends to several distinct streams with no version expectation (as 'any'), in one round trip where
   * the store allows it: the group commit of MCP messages and audit events (eventstore/group-commit.ts).
   * Each stream's events are contiguous and in order. PostgreSQL and memory write all streams or none;
   * EventStoreDB writes each stream atomically. Results are in input order.
   */
  appendMany(appends: readonly StreamAppend[], options?: AppendManyOptions): Promise<AppendResult[]>;
  /**
   * Appends to several distinct streams, each checked against its own expected version, in one round
   * trip where the store allows it: the group commit of commands on existing streams (a code exchange, a
   * refresh; eventstore/versioned-commit.ts). Each stream is atomic on its own and has its own outcome,
   * in input order: its AppendResult, or the error its append met (WrongExpectedVersionError when its
   * expectation does not hold: nothing of it is written, the others are). PostgreSQL and memory write
   * the streams that pass in one transaction, and reject the whole call, writing nothing, on a failure
   * that is not a stream's own expectation (a duplicate event id, unstorable text); EventStoreDB appends
   * each stream on its own and reports every failure in its slot.
   */
  appendEach(appends: readonly ExpectedAppend[]): Promise<(AppendResult | Error)[]>;
  readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** Current revision of the stream's last event, or undefined when the stream does not exist. */
  streamVersion(stream: string): Promise<bigint | undefined>;
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  subscribeAll(options: SubscribeOptions): Subscription;
  /** Position of the newest event (undefined when the log is empty). */
  headPosition(): Promise<GlobalPosition | undefined>;
  setStreamMetadata(stream: string, metadata: StreamMetadata): Promise<void>;
  getStreamMetadata(stream: string): Promise<StreamMetadata>;
  close(): Promise<void>;
}

export class WrongExpectedVersionError extends Error {
  constructor(
    readonly stream: string,
    readonly expected: ExpectedVersion,
    readonly actual: bigint | undefined,
  ) {
    super(
      `stream ${stream}: expected version ${String(expected)}, actual ${actual === undefined ? 'no stream' : String(actual)}`,
    );
    this.name = 'WrongExpectedVersionError';
  }
}

export class DuplicateEventError extends Error {
  constructor(readonly eventId: string) {
    super(`event ${eventId} was already appended`);
    this.name = 'DuplicateEventError';
  }
}

/**
 * An event holds U+0000 or an unpaired surrogate (eventstore/storable.ts): nothing was written. `streams`
 * names the streams at fault, so a group commit can fail just those callers.
 */
export class UnstorableEventError extends Error {
  constructor(
    readonly streams: readonly string[],
    readonly path: string,
  ) {
    super(
      `an event of stream ${streams.join(', ')} holds text that cannot be stored (U+0000 or an unpaired surrogate) at ${path}`,
    );
    this.name = 'UnstorableEventError';
  }
}

/** Throws UnstorableEventError naming every stream whose events hold unstorable text (data, metadata or type). */
export const checkStorable = (appends: readonly StreamAppend[]): void => {
  const streams: string[] = [];
  let first: string | undefined;
  for (const { stream, events } of appends) {
    const path = isStorableText(stream)
      ? findUnstorable(events.map(({ type, data, metadata }) => ({ type, data, metadata })))
      : 'the stream name';
    if (!path) continue;
    streams.push(toStorableText(stream));
    first ??= path;
  }
  if (first) throw new UnstorableEventError(streams, first);
};

/** Checks an expectation against the current version (undefined = no stream); shared by adapters that check in memory. */
export const satisfies = (expected: ExpectedVersion, actual: bigint | undefined): boolean => {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === undefined;
  if (expected === 'stream_exists') return actual !== undefined;
  return actual === expected;
};

/** Checks appendMany's input: at least one stream, each named once, each with events. */
export const checkAppendMany = (appends: readonly StreamAppend[]): void => {
  if (appends.length === 0) throw new Error('appendMany needs at least one stream');
  const seen = new Set<string>();
  for (const { stream, events } of appends) {
    if (seen.has(stream)) throw new Error(`appendMany names the stream ${stream} twice`);
    if (events.length === 0) throw new Error('append needs at least one event');
    seen.add(stream);
  }
};
