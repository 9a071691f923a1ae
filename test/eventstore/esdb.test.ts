import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import {
  BACKWARDS,
  END,
  EVENT_TYPE,
  FORWARDS,
  NO_STREAM,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  excludeSystemEvents,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type AppendResult as EsdbAppendResult,
  type AppendToStreamOptions,
  type EventData,
  type EventType,
  type GetStreamMetadataOptions,
  type GetStreamMetadataResult,
  type JSONType,
  type Position,
  type ReadAllOptions as EsdbReadAllOptions,
  type ReadStreamOptions as EsdbReadStreamOptions,
  type ResolvedEvent,
  type SetStreamMetadataOptions,
  type StreamMetadata as EsdbStreamMetadata,
  type SubscribeToAllOptions,
} from '@kurrent/kurrentdb-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects } from '../support/assertions.ts';
import { testServers } from '../../app/config.ts';
import {
  CREATED_AT_KEY,
  EsdbEventLog,
  InvalidStreamNameError,
  openEsdbEventLog,
  toEsdbPosition,
  type EsdbClient,
} from '../../eventstore/esdb.ts';
import { DuplicateEventError, WrongExpectedVersionError, type RecordedEvent } from '../../eventstore/port.ts';
import { skipSuite } from '../support/skip.ts';
import { anyDatabase } from '../support/databases.ts';
import { eventLogContract } from './contract.ts';
import { encryptingContract } from './encrypting-contract.ts';

// ---- a stand-in for KurrentDBClient: records what the adapter asks and answers like the server would ----

type StoredEvent = {
  stream: string;
  revision: bigint;
  position: Position | undefined;
  type?: string;
  id?: string;
  data?: JSONType;
  metadata?: JSONType;
  created?: Date;
};

const stored = (e: StoredEvent): AllStreamResolvedEvent => ({
  event: {
    streamId: e.stream,
    id: e.id ?? randomUUID(),
    isJson: true,
    revision: e.revision,
    type: e.type ?? 'Happened',
    created: e.created ?? new Date('2024-01-02T03:04:05.000Z'),
    data: e.data ?? {},
    metadata: e.metadata,
    // An event without a position stands for what servers before 22.6 return on stream reads.
    position: e.position ?? (undefined as unknown as Position),
  },
});

const at = (commit: bigint, prepare = commit): Position => ({ commit, prepare });

async function* serve<T>(events: T[] | undefined, stream: string): AsyncGenerator<T> {
  // The client throws StreamNotFoundError while iterating a read of a missing stream.
  if (!events) throw new StreamNotFoundError(undefined, stream);
  yield* events;
}

type Append = { stream: string; events: unknown; options: AppendToStreamOptions | undefined };

class StandInClient implements EsdbClient {
  readonly appends: Append[] = [];
  readonly streamReads: { stream: string; options: EsdbReadStreamOptions | undefined }[] = [];
  readonly allReads: (EsdbReadAllOptions | undefined)[] = [];
  readonly subscribes: (SubscribeToAllOptions | undefined)[] = [];
  readonly metadataWrites: { stream: string; metadata: unknown }[] = [];
  readonly streams = new Map<string, AllStreamResolvedEvent[]>();
  all: AllStreamResolvedEvent[] = [];
  /** Scripted answers to appendToStream, used in order before the default (append, answer success). */
  script: ((append: Append) => EsdbAppendResult)[] = [];
  metadataResult: GetStreamMetadataResult = { streamName: 'unused' };
  readonly feed = new PassThrough({ objectMode: true });
  unsubscribed = 0;
  disposed = 0;
  private commit = 1_000n;

  async appendToStream<K extends EventType = EventType>(
    stream: string,
    events: EventData<K> | EventData<K>[],
    options?: AppendToStreamOptions,
  ): Promise<EsdbAppendResult> {
    const append = { stream, events, options };
    this.appends.push(append);
    const scripted = this.script.shift();
    if (scripted) return scripted(append);
    const list = this.streams.get(stream) ?? [];
    for (const data of Array.isArray(events) ? events : [events]) {
      this.commit += 10n;
      list.push(
        stored({ stream, revision: BigInt(list.length), position: at(this.commit), id: data.id, type: data.type }),
      );
    }
    this.streams.set(stream, list);
    // Deliberately not the last event's position: the adapter must read that back.
    return { success: true, nextExpectedRevision: BigInt(list.length - 1), position: at(this.commit + 1n, 0n) };
  }

  readStream<K extends EventType = EventType>(
    stream: string,
    options?: EsdbReadStreamOptions,
  ): AsyncIterableIterator<ResolvedEvent<K>> {
    this.streamReads.push({ stream, options });
    const list = this.streams.get(stream);
    const backwards = options?.direction === BACKWARDS;
    const from = options?.fromRevision ?? START;
    const selected = list
      ?.filter(
        (e) => from === START || from === END || (backwards ? e.event!.revision <= from : e.event!.revision >= from),
      )
      .sort((a, b) => (backwards ? -1 : 1) * Number(a.event!.revision - b.event!.revision))
      .slice(0, Number(options?.maxCount ?? Number.MAX_SAFE_INTEGER));
    // The client's methods are generic over event types; the stand-in serves the default ones.
    return serve(selected, stream) as unknown as AsyncIterableIterator<ResolvedEvent<K>>;
  }

  readAll(options?: EsdbReadAllOptions): AsyncIterableIterator<AllStreamResolvedEvent> {
    this.allReads.push(options);
    const backwards = options?.direction === BACKWARDS;
    const from = options?.fromPosition ?? START;
    const filter = options?.filter;
    const pattern =
      filter && 'regex' in filter && filter.filterOn === EVENT_TYPE ? new RegExp(filter.regex) : undefined;
    const ordered = backwards ? [...this.all].reverse() : this.all;
    // Like the server: a read from a position includes the event at it.
    const selected = ordered
      .filter((e) => !pattern || pattern.test(e.event!.type))
      .filter((e) => {
        if (from === START || from === END) return true;
        const p = e.event!.position;
        const cmp = p.commit === from.commit ? Number(p.prepare - from.prepare) : Number(p.commit - from.commit);
        return backwards ? cmp <= 0 : cmp >= 0;
      })
      .slice(0, Number(options?.maxCount ?? Number.MAX_SAFE_INTEGER));
    return serve(selected, '$all');
  }

  subscribeToAll(options?: SubscribeToAllOptions): AllStreamSubscription {
    this.subscribes.push(options);
    // A readable of resolved events with unsubscribe(), which is what the client's subscription is.
    return Object.assign(this.feed, {
      unsubscribe: async () => void (this.unsubscribed += 1),
    }) as unknown as AllStreamSubscription;
  }

  async setStreamMetadata(
    stream: string,
    metadata: EsdbStreamMetadata,
    _options?: SetStreamMetadataOptions,
  ): Promise<EsdbAppendResult> {
    this.metadataWrites.push({ stream, metadata });
    return { success: true, nextExpectedRevision: 0n };
  }

  async getStreamMetadata<C extends Record<string | number, unknown>>(
    _stream: string,
    _options?: GetStreamMetadataOptions,
  ): Promise<GetStreamMetadataResult<C>> {
    return this.metadataResult as GetStreamMetadataResult<C>;
  }

  dispose = async (): Promise<void> => {
    this.disposed += 1;
  };
}

const setup = () => {
  const client = new StandInClient();
  return { client, log: new EsdbEventLog(client) };
};

const wrongVersion = (
  stream: string,
  expected: bigint | 'no_stream' | 'stream_exists' | 'any',
  current: bigint | typeof NO_STREAM,
) => new EsdbWrongExpectedVersionError(undefined, { streamName: stream, expected, current });

/** The client's own system-event filter: event types that do not start with `$`. */
const SYSTEM_FILTER = excludeSystemEvents();

const test = suite('EsdbEventLog: mapping onto the KurrentDB client');

test("the system-event filter is the client's: event types not starting with $", () => {
  assert.equal([SYSTEM_FILTER.filterOn, SYSTEM_FILTER.regex], [EVENT_TYPE, '^[^$].*']);
});

test('stream names go to the client unchanged', async () => {
  const { client, log } = setup();
  const user = `user-${randomUUID()}`;
  await log.append(user, [{ type: 'Registered', data: {} }]);
  await log.readStream('mcp-session-abc');
  await log.setStreamMetadata('mcp-session-abc', { maxCount: 2 });
  assert.equal(
    client.appends.map((a) => a.stream),
    [user],
  );
  assert.equal(
    client.streamReads.map((r) => r.stream),
    [user, 'mcp-session-abc'],
  );
  assert.equal(
    client.metadataWrites.map((w) => w.stream),
    ['mcp-session-abc'],
  );
});

test('a stream name that could address a system stream is refused before the client sees it', async () => {
  const { client, log } = setup();
  const attempts: [string, () => Promise<unknown>][] = [
    ['$all', () => log.append('$all', [{ type: 'A', data: {} }])],
    ['$$user-1', () => log.append('$$user-1', [{ type: '$metadata', data: {} }])],
    ['$users', () => log.readStream('$users')],
    ['$settings', () => log.streamVersion('$settings')],
    ['$$user-1', () => log.setStreamMetadata('$$user-1', { maxCount: 1 })],
    ['$et-Registered', () => log.getStreamMetadata('$et-Registered')],
  ];
  for (const [name, attempt] of attempts) {
    const error = await rejects(attempt(), InvalidStreamNameError);
    assert.is(error.stream, name);
    assert.is(
      error.message,
      `stream name ${JSON.stringify(name)} starts with "$", which EventStoreDB reserves for system streams`,
    );
  }
  assert.is((await rejects(log.readStream(''), InvalidStreamNameError)).message, 'stream name "" is empty');
  assert.equal([client.appends.length, client.streamReads.length, client.metadataWrites.length], [0, 0, 0]);
});

test('event types starting with $ and the reserved metadata key are refused', async () => {
  const { client, log } = setup();
  await rejects(log.append('s-1', [{ type: '$metadata', data: {} }]), Error);
  const reserved = await rejects(
    log.append('s-1', [{ type: 'A', data: {}, metadata: { [CREATED_AT_KEY]: 'x' } }]),
    Error,
  );
  assert.is(reserved.message, `event metadata key ${CREATED_AT_KEY} is reserved`);
  assert.is(client.appends.length, 0);
});

test('expected version → streamState for all four kinds (and any by default)', async () => {
  const { client, log } = setup();
  client.streams.set(
    's-1',
    [0n, 1n, 2n, 3n, 4n, 5n].map((revision) => stored({ stream: 's-1', revision, position: at(revision + 1n) })),
  );
  await log.append('s-1', [{ type: 'A', data: {} }], { expectedVersion: 5n });
  await log.append('s-2', [{ type: 'A', data: {} }], { expectedVersion: 'no_stream' });
  await log.append('s-1', [{ type: 'A', data: {} }], { expectedVersion: 'stream_exists' });
  await log.append('s-1', [{ type: 'A', data: {} }], { expectedVersion: 'any' });
  await log.append('s-1', [{ type: 'A', data: {} }]);
  assert.equal(
    client.appends.map((a) => a.options?.streamState),
    [5n, 'no_stream', 'stream_exists', 'any', 'any'],
  );
});

test('an append is one call with every event as a JSON event; ids pass through or are generated', async () => {
  const { client, log } = setup();
  const id = randomUUID();
  const result = await log.append('s-1', [
    { type: 'Created', data: { n: 1 }, metadata: { actor: 'a' }, id },
    { type: 'Renamed', data: null },
  ]);
  assert.is(client.appends.length, 1);
  const events = client.appends[0]!.events as EventData[];
  assert.equal(events[0], {
    id,
    contentType: 'application/json',
    type: 'Created',
    data: { n: 1 },
    metadata: { actor: 'a' },
  });
  assert.equal(
    { ...events[1]!, id: 'generated' },
    { id: 'generated', contentType: 'application/json', type: 'Renamed', data: null, metadata: {} },
  );
  assert.match(events[1]!.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  // The position is the last event's, read back (the stand-in's append result reports a different one).
  assert.equal(result, { nextExpectedVersion: 1n, position: { commit: 1_020n, prepare: 1_020n } });
  assert.equal(client.streamReads.at(-1), { stream: 's-1', options: { fromRevision: 1n, maxCount: 1 } });
});

test("appendMany: one append per stream with no version check (the client's multi-stream append needs KurrentDB 25.1); bad input never reaches the client", async () => {
  const { client, log } = setup();
  const results = await log.appendMany([
    { stream: 'm-1', events: [{ type: 'A', data: { n: 1 } }] },
    {
      stream: 'm-2',
      events: [
        { type: 'B', data: {} },
        { type: 'C', data: {} },
      ],
    },
  ]);
  assert.equal(
    client.appends.map((append) => [append.stream, (append.events as EventData[]).map((event) => event.type)]),
    [
      ['m-1', ['A']],
      ['m-2', ['B', 'C']],
    ],
  );
  assert.equal(
    results.map((result) => result.nextExpectedVersion),
    [0n, 1n],
  );
  let refused = 0;
  for (const bad of [
    [],
    [{ stream: 'm-3', events: [] }],
    [
      { stream: 'm-4', events: [{ type: 'A', data: {} }] },
      { stream: 'm-4', events: [{ type: 'A', data: {} }] },
    ],
  ]) {
    await log.appendMany(bad).catch(() => (refused += 1));
  }
  assert.is(refused, 3);
  assert.is(client.appends.length, 2);
});

test('append position falls back to the client result when the read-back has none', async () => {
  const { client, log } = setup();
  client.script.push(() => {
    client.streams.set('old', [stored({ stream: 'old', revision: 0n, position: undefined })]);
    return { success: true, nextExpectedRevision: 0n, position: at(77n, 70n) };
  });
  assert.equal(await log.append('old', [{ type: 'A', data: {} }]), {
    nextExpectedVersion: 0n,
    position: { commit: 77n, prepare: 70n },
  });
});

test('createdAt of an import travels in event metadata and comes back as createdAt', async () => {
  const { client, log } = setup();
  const original = new Date('2020-05-06T07:08:09.010Z');
  await log.append('s-1', [{ type: 'A', data: {}, metadata: { actor: 'a' }, createdAt: original }]);
  const sent = (client.appends[0]!.events as EventData[])[0]!;
  assert.equal(sent.metadata, { actor: 'a', [CREATED_AT_KEY]: '2020-05-06T07:08:09.010Z' });
  const created = new Date('2024-01-02T03:04:05.000Z');
  client.streams.set('s-2', [
    stored({
      stream: 's-2',
      revision: 0n,
      position: at(1n),
      metadata: { actor: 'a', [CREATED_AT_KEY]: original.toISOString() },
    }),
    stored({ stream: 's-2', revision: 1n, position: at(2n), metadata: { actor: 'b' } }),
    stored({ stream: 's-2', revision: 2n, position: at(3n), metadata: { [CREATED_AT_KEY]: 'not a date' } }),
    stored({ stream: 's-2', revision: 3n, position: at(4n) }),
  ]);
  const events = await log.readStream('s-2');
  assert.equal(
    events.map((e) => [e.createdAt.toISOString(), e.metadata]),
    [
      [original.toISOString(), { actor: 'a' }],
      [created.toISOString(), { actor: 'b' }],
      [created.toISOString(), {}],
      [created.toISOString(), {}],
    ],
  );
});

test('wrong expected version → our conflict error carrying the actual version', async () => {
  const { client, log } = setup();
  client.script.push(() => {
    throw wrongVersion('s-1', 2n, 4n);
  });
  const stale = await rejects(
    log.append('s-1', [{ type: 'A', data: {} }], { expectedVersion: 2n }),
    WrongExpectedVersionError,
  );
  assert.equal([stale.stream, stale.expected, stale.actual], ['s-1', 2n, 4n]);
  client.script.push(() => {
    throw wrongVersion('s-2', 'stream_exists', NO_STREAM);
  });
  const missing = await rejects(
    log.append('s-2', [{ type: 'A', data: {} }], { expectedVersion: 'stream_exists' }),
    WrongExpectedVersionError,
  );
  assert.equal([missing.stream, missing.expected, missing.actual], ['s-2', 'stream_exists', undefined]);
  client.script.push(() => {
    throw wrongVersion('s-3', 'no_stream', 0n);
  });
  const exists = await rejects(
    log.append('s-3', [{ type: 'A', data: {} }], { expectedVersion: 'no_stream' }),
    WrongExpectedVersionError,
  );
  assert.equal([exists.expected, exists.actual], ['no_stream', 0n]);
  assert.is(exists.message, 'stream s-3: expected version no_stream, actual 0');
});

test("a failure reported in the result (throwOnAppendFailure=false) is a conflict with the stream's version", async () => {
  const { client, log } = setup();
  client.streams.set('s-1', [
    stored({ stream: 's-1', revision: 0n, position: at(1n) }),
    stored({ stream: 's-1', revision: 1n, position: at(2n) }),
  ]);
  client.script.push(() => ({ success: false, nextExpectedRevision: 1n }));
  const error = await rejects(
    log.append('s-1', [{ type: 'A', data: {} }], { expectedVersion: 0n }),
    WrongExpectedVersionError,
  );
  assert.equal([error.expected, error.actual], [0n, 1n]);
});

test('duplicate ids inside one batch are refused without calling the client', async () => {
  const { client, log } = setup();
  const id = randomUUID();
  const error = await rejects(
    log.append('s-1', [
      { type: 'A', data: {}, id },
      { type: 'B', data: {}, id },
    ]),
    DuplicateEventError,
  );
  assert.is(error.eventId, id);
  assert.equal([client.appends.length, client.streamReads.length], [0, 0]);
});

test('an id already in the stream is refused (ESDB would accept it idempotently); nothing is appended', async () => {
  const { client, log } = setup();
  const id = randomUUID();
  client.streams.set('s-1', [stored({ stream: 's-1', revision: 0n, position: at(1n), id })]);
  const error = await rejects(
    log.append('s-1', [
      { type: 'B', data: {} },
      { type: 'C', data: {}, id },
    ]),
    DuplicateEventError,
  );
  assert.is(error.eventId, id);
  assert.is(client.appends.length, 0);
  // With a stale expectation the conflict is reported first, as the other adapters do.
  await rejects(
    log.append('s-1', [{ type: 'C', data: {}, id }], { expectedVersion: 'no_stream' }),
    WrongExpectedVersionError,
  );
});

test('the duplicate check pins "any" to the revision it checked and retries when another writer got in between', async () => {
  const { client, log } = setup();
  client.streams.set('s-1', [
    stored({ stream: 's-1', revision: 0n, position: at(1n) }),
    stored({ stream: 's-1', revision: 1n, position: at(2n) }),
  ]);
  client.script.push(() => {
    client.streams.get('s-1')!.push(stored({ stream: 's-1', revision: 2n, position: at(3n) }));
    throw wrongVersion('s-1', 1n, 2n);
  });
  const result = await log.append('s-1', [{ type: 'Mine', data: {}, id: randomUUID() }]);
  assert.equal(
    client.appends.map((a) => a.options?.streamState),
    [1n, 2n],
  );
  assert.is(result.nextExpectedVersion, 3n);
  // Without caller ids there is nothing to check: the caller's expectation goes as it is, no read first.
  const reads = client.streamReads.length;
  await log.append('s-1', [{ type: 'Generated', data: {} }]);
  assert.equal(client.appends.at(-1)!.options?.streamState, 'any');
  assert.is(client.streamReads.length, reads + 1); // only the position read-back
});

test("a conflict on the caller's own exact expectation is not retried", async () => {
  const { client, log } = setup();
  client.streams.set('s-1', [stored({ stream: 's-1', revision: 0n, position: at(1n) })]);
  client.script.push(() => {
    throw wrongVersion('s-1', 0n, 1n);
  });
  const error = await rejects(
    log.append('s-1', [{ type: 'A', data: {}, id: randomUUID() }], { expectedVersion: 0n }),
    WrongExpectedVersionError,
  );
  assert.equal([error.expected, error.actual, client.appends.length], [0n, 1n, 1]);
});

test('positions map both ways unchanged', async () => {
  const { client, log } = setup();
  assert.equal(toEsdbPosition({ commit: 12n, prepare: 7n }), { commit: 12n, prepare: 7n });
  client.all = [stored({ stream: 's-1', revision: 0n, position: at(300n, 299n) })];
  const [event] = await log.readAll();
  assert.equal(event!.position, { commit: 300n, prepare: 299n });
  await log.readAll({ after: { commit: 300n, prepare: 299n } });
  assert.equal(client.allReads.at(-1)!.fromPosition, { commit: 300n, prepare: 299n });
});

test('readAll after a position is exclusive, filters system events on the server and $ streams here', async () => {
  const { client, log } = setup();
  client.all = [
    stored({ stream: 'a', revision: 0n, position: at(10n), type: 'One' }),
    stored({ stream: 'b', revision: 0n, position: at(20n), type: 'Two' }),
    stored({ stream: '$$b', revision: 0n, position: at(30n), type: '$metadata' }),
    stored({ stream: '$projections-p-result', revision: 0n, position: at(40n), type: 'Result' }),
    stored({ stream: 'c', revision: 0n, position: at(50n), type: 'Three' }),
    stored({ stream: 'd', revision: 0n, position: at(60n), type: 'Four' }),
  ];
  const page = await log.readAll({ after: at(20n), maxCount: 2 });
  assert.equal(
    page.map((e) => e.type),
    ['Three', 'Four'],
  );
  assert.equal(client.allReads[0], { fromPosition: at(20n), maxCount: 3, filter: SYSTEM_FILTER });
  assert.equal(
    (await log.readAll({ maxCount: 1 })).map((e) => e.type),
    ['One'],
  );
  assert.equal(client.allReads.at(-1), { fromPosition: START, maxCount: 2, filter: SYSTEM_FILTER });
  assert.equal(await log.readAll({ after: at(60n) }), []);
});

test('readAll reads on when a full page held only system events', async () => {
  const { client, log } = setup();
  client.all = [
    stored({ stream: 'a', revision: 0n, position: at(10n), type: 'One' }),
    ...[20n, 30n, 40n].map((p) =>
      stored({ stream: '$projections-p-result', revision: p, position: at(p), type: 'Result' }),
    ),
    stored({ stream: 'b', revision: 0n, position: at(50n), type: 'Two' }),
  ];
  assert.equal(
    (await log.readAll({ maxCount: 2 })).map((e) => e.type),
    ['One', 'Two'],
  );
  assert.equal(
    client.allReads.map((r) => r?.fromPosition),
    [START, at(30n), at(40n)],
  );
});

test('headPosition: the newest user event, read backwards from the end; undefined when there is none', async () => {
  const { client, log } = setup();
  assert.is(await log.headPosition(), undefined);
  client.all = [
    stored({ stream: 'a', revision: 0n, position: at(10n, 9n) }),
    stored({ stream: '$projections-p-result', revision: 0n, position: at(20n), type: 'Result' }),
    stored({ stream: '$$a', revision: 0n, position: at(30n), type: '$metadata' }),
  ];
  assert.equal(await log.headPosition(), { commit: 10n, prepare: 9n });
  assert.equal(client.allReads.at(-1), {
    direction: BACKWARDS,
    fromPosition: END,
    maxCount: 100,
    filter: SYSTEM_FILTER,
  });
});

test('readStream: direction, fromRevision and maxCount map onto the client options', async () => {
  const { client, log } = setup();
  client.streams.set(
    's-1',
    [0n, 1n, 2n, 3n, 4n].map((revision) =>
      stored({ stream: 's-1', revision, position: at(revision + 1n), type: `E${revision}` }),
    ),
  );
  assert.equal(
    (await log.readStream('s-1')).map((e) => e.type),
    ['E0', 'E1', 'E2', 'E3', 'E4'],
  );
  assert.equal(
    (await log.readStream('s-1', { backwards: true, maxCount: 2 })).map((e) => e.type),
    ['E4', 'E3'],
  );
  assert.equal(
    (await log.readStream('s-1', { fromRevision: 3n })).map((e) => e.type),
    ['E3', 'E4'],
  );
  assert.equal(
    (await log.readStream('s-1', { backwards: true, fromRevision: 1n })).map((e) => e.type),
    ['E1', 'E0'],
  );
  assert.equal(
    client.streamReads.map((r) => r.options),
    [
      { direction: FORWARDS, fromRevision: START },
      { direction: BACKWARDS, fromRevision: END, maxCount: 2 },
      { direction: FORWARDS, fromRevision: 3n },
      { direction: BACKWARDS, fromRevision: 1n },
    ],
  );
  const [first] = await log.readStream('s-1', { maxCount: 1 });
  assert.equal(first, {
    id: first!.id,
    stream: 's-1',
    revision: 0n,
    position: { commit: 1n, prepare: 1n },
    type: 'E0',
    data: {},
    metadata: {},
    createdAt: new Date('2024-01-02T03:04:05.000Z'),
  } satisfies RecordedEvent);
});

test('a missing stream (StreamNotFoundError while iterating) reads as [] and has no version', async () => {
  const { client, log } = setup();
  assert.equal(await log.readStream('nothing-here'), []);
  assert.is(await log.streamVersion('nothing-here'), undefined);
  client.streams.set(
    's-1',
    [0n, 1n, 2n].map((revision) => stored({ stream: 's-1', revision, position: at(revision + 1n) })),
  );
  assert.is(await log.streamVersion('s-1'), 2n);
  assert.equal(client.streamReads.at(-1)!.options, { direction: BACKWARDS, fromRevision: END, maxCount: 1 });
});

test('stream metadata maps both ways ($maxAge seconds, $maxCount, $tb)', async () => {
  const { client, log } = setup();
  await log.setStreamMetadata('s-1', { maxAgeSeconds: 3600, maxCount: 3, truncateBefore: 5n });
  await log.setStreamMetadata('s-1', { maxCount: 10 });
  assert.equal(
    client.metadataWrites.map((w) => w.metadata),
    [{ maxAge: 3600, maxCount: 3, truncateBefore: 5 }, { maxCount: 10 }],
  );
  client.metadataResult = {
    streamName: 's-1',
    metadata: { maxAge: 60, maxCount: 2, truncateBefore: 7, acl: {} },
    metastreamRevision: 1n,
  };
  assert.equal(await log.getStreamMetadata('s-1'), { maxAgeSeconds: 60, maxCount: 2, truncateBefore: 7n });
  client.metadataResult = { streamName: 's-2' };
  assert.equal(await log.getStreamMetadata('s-2'), {});
  await rejects(log.setStreamMetadata('s-1', { maxCount: 0 }), RangeError);
  await rejects(log.setStreamMetadata('s-1', { truncateBefore: -1n }), RangeError);
  assert.is(client.metadataWrites.length, 2);
});

test('subscribeAll: exclusive start, system events dropped, batches awaited one after the other', async () => {
  const { client, log } = setup();
  const events = [
    stored({ stream: 'a', revision: 0n, position: at(10n), type: 'One' }),
    stored({ stream: '$projections-p-result', revision: 0n, position: at(20n), type: 'Result' }),
    stored({ stream: 'b', revision: 0n, position: at(30n), type: 'Two' }),
    stored({ stream: 'c', revision: 0n, position: at(40n), type: 'Three' }),
  ];
  for (const event of events) client.feed.write(event);
  const batches: string[][] = [];
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const subscription = log.subscribeAll({
    after: at(5n, 4n),
    batchSize: 2,
    onEvents: async (batch) => {
      batches.push(batch.map((e) => e.type));
      if (batches.length === 1) await held;
    },
  });
  assert.equal(client.subscribes, [{ fromPosition: { commit: 5n, prepare: 4n }, filter: SYSTEM_FILTER }]);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(batches, [['One']]); // the next batch waits for the first to finish
  release();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(batches, [['One'], ['Two', 'Three']]);
  await subscription.close();
  assert.is(client.unsubscribed, 1);
});

test('subscribeAll: from the start without a position; a failure reaches onError and stops it', async () => {
  const { client, log } = setup();
  const errors: unknown[] = [];
  log.subscribeAll({ onEvents: async () => {}, onError: (error) => errors.push(error) });
  assert.equal(client.subscribes, [{ fromPosition: START, filter: SYSTEM_FILTER }]);
  const failure = new Error('connection lost');
  client.feed.destroy(failure);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(errors, [failure]);
  assert.is(client.unsubscribed, 1);
});

test('subscribeAll: a throwing onEvents stops the subscription and is reported', async () => {
  const { client, log } = setup();
  const errors: unknown[] = [];
  const failure = new Error('projection failed');
  log.subscribeAll({ onEvents: async () => Promise.reject(failure), onError: (error) => errors.push(error) });
  client.feed.write(stored({ stream: 'a', revision: 0n, position: at(10n) }));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(errors, [failure]);
  assert.is(client.unsubscribed, 1);
});

test('close() closes open subscriptions and disposes the client', async () => {
  const { client, log } = setup();
  const errors: unknown[] = [];
  log.subscribeAll({ onEvents: async () => {}, onError: (error) => errors.push(error) });
  await log.close();
  assert.equal([client.unsubscribed, client.disposed, errors.length], [1, 1, 0]);
  assert.is(log.kind, 'esdb');
});

test('openEsdbEventLog builds the adapter on a real client from a connection string (no server needed to close it)', async () => {
  const log = openEsdbEventLog('kurrentdb://127.0.0.1:1?tls=false');
  assert.instance(log, EsdbEventLog);
  await log.close();
});

test.run();

// ---- the shared contract against a real server ----

const url = testServers().eventStoreUrl;
if (!url) {
  skipSuite('EventLog contract: EventStoreDB', 'TEST_EVENTSTORE_URL not set', 16);
} else {
  const server = eventLogContract('EventStoreDB', async () => {
    const log = openEsdbEventLog(url);
    return { log, dispose: () => log.close() };
  });

  // Names are unique per run (randomUUID), so a shared server keeps working.
  server('server: an imported createdAt survives the round trip; ESDB stamps the others', async ({ log }) => {
    const stream = `esdb-import-${randomUUID()}`;
    const original = new Date('2019-03-04T05:06:07.089Z');
    const before = Date.now();
    await log.append(stream, [
      { type: 'Imported', data: {}, metadata: { actor: 'x' }, createdAt: original },
      { type: 'Fresh', data: {} },
    ]);
    const [imported, fresh] = await log.readStream(stream);
    assert.equal([imported!.createdAt.toISOString(), imported!.metadata], [original.toISOString(), { actor: 'x' }]);
    assert.ok(fresh!.createdAt.getTime() >= before - 60_000);
  });

  server(
    "server: re-sending an appended batch is a DuplicateEventError, not ESDB's silent idempotent success",
    async ({ log }) => {
      const stream = `esdb-dup-${randomUUID()}`;
      const batch = [{ type: 'A', data: {}, id: randomUUID() }];
      await log.append(stream, batch, { expectedVersion: 'no_stream' });
      await rejects(log.append(stream, batch, { expectedVersion: 'any' }), DuplicateEventError);
      assert.is(await log.streamVersion(stream), 0n);
    },
  );

  server.run();
}

// ---- the encrypting decorator over a real server: events in KurrentDB, data keys in PostgreSQL ----

if (!url) {
  skipSuite('Encrypting decorator contract: EventStoreDB', 'TEST_EVENTSTORE_URL not set', 7);
} else {
  encryptingContract('EventStoreDB, keys in PostgreSQL', async () => {
    const log = openEsdbEventLog(url);
    const keys = await anyDatabase();
    return {
      log,
      keysDb: keys.db,
      async dispose() {
        await log.close();
        await keys.dispose();
      },
    };
  }).run();
}
