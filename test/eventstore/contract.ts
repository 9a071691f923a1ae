// The one contract every EventLog adapter passes (memory, PostgreSQL on PGlite and on a server, EventStoreDB).
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects } from '../support/assertions.ts';
import {
  DuplicateEventError,
  UnstorableEventError,
  WrongExpectedVersionError,
  comparePositions,
  type EventLog,
  type RecordedEvent,
} from '../../eventstore/port.ts';

export type AdapterFactory = () => Promise<{ log: EventLog; dispose(): Promise<void> }>;

const stream = (prefix = 'test') => `${prefix}-${randomUUID()}`;

const until = async (check: () => boolean, ms = 3_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

export const eventLogContract = (name: string, factory: AdapterFactory) => {
  const test = suite<{ log: EventLog; dispose(): Promise<void> }>(`EventLog contract: ${name}`);

  test.before(async (context) => {
    const made = await factory();
    context.log = made.log;
    context.dispose = made.dispose;
  });
  test.after(async (context) => {
    await context.dispose();
  });

  test('append to a new stream with no_stream, read it back in order', async ({ log }) => {
    const id = stream();
    const result = await log.append(
      id,
      [
        { type: 'Created', data: { n: 1 }, metadata: { actor: 'a' } },
        { type: 'Renamed', data: { n: 2, nested: { list: [1, 'x', null] } } },
      ],
      { expectedVersion: 'no_stream' },
    );
    assert.is(result.nextExpectedVersion, 1n);
    const events = await log.readStream(id);
    assert.equal(
      events.map((e) => [e.type, e.revision, e.data]),
      [
        ['Created', 0n, { n: 1 }],
        ['Renamed', 1n, { n: 2, nested: { list: [1, 'x', null] } }],
      ],
    );
    assert.equal(events[0]!.metadata, { actor: 'a' });
    assert.ok(comparePositions(events[0]!.position, events[1]!.position) < 0);
    assert.equal(events[1]!.position, result.position);
    assert.instance(events[0]!.createdAt, Date);
    assert.is(await log.streamVersion(id), 1n);
    assert.is(await log.streamVersion(stream()), undefined);
  });

  test('expected version: exact revision passes, stale revision fails with the actual version', async ({ log }) => {
    const id = stream();
    await log.append(id, [{ type: 'A', data: {} }], { expectedVersion: 'no_stream' });
    await log.append(id, [{ type: 'B', data: {} }], { expectedVersion: 0n });
    const error = await rejects(
      log.append(id, [{ type: 'C', data: {} }], { expectedVersion: 0n }),
      WrongExpectedVersionError,
    );
    assert.is(error.actual, 1n);
    assert.is(error.stream, id);
    assert.equal(
      (await log.readStream(id)).map((e) => e.type),
      ['A', 'B'],
    );
  });

  test('no_stream on an existing stream and stream_exists on a missing one both fail', async ({ log }) => {
    const id = stream();
    await log.append(id, [{ type: 'A', data: {} }], { expectedVersion: 'no_stream' });
    const again = await rejects(
      log.append(id, [{ type: 'A', data: {} }], { expectedVersion: 'no_stream' }),
      WrongExpectedVersionError,
    );
    assert.is(again.actual, 0n);
    const missing = stream();
    const error = await rejects(
      log.append(missing, [{ type: 'A', data: {} }], { expectedVersion: 'stream_exists' }),
      WrongExpectedVersionError,
    );
    assert.is(error.actual, undefined);
    assert.equal(await log.readStream(missing), []);
    const ok = await log.append(id, [{ type: 'B', data: {} }], { expectedVersion: 'stream_exists' });
    assert.is(ok.nextExpectedVersion, 1n);
    const any = await log.append(id, [{ type: 'C', data: {} }], { expectedVersion: 'any' });
    assert.is(any.nextExpectedVersion, 2n);
  });

  test('concurrent appends with the same expected version: exactly one wins', async ({ log }) => {
    for (let round = 0; round < 5; round += 1) {
      const id = stream();
      await log.append(id, [{ type: 'Start', data: {} }], { expectedVersion: 'no_stream' });
      const attempts = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => log.append(id, [{ type: 'Racer', data: { i } }], { expectedVersion: 0n })),
      );
      const won = attempts.filter((a) => a.status === 'fulfilled');
      const lost = attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
      assert.is(won.length, 1);
      assert.is(lost.length, 5);
      for (const loss of lost) assert.instance(loss.reason, WrongExpectedVersionError);
      assert.equal(
        (await log.readStream(id)).map((e) => e.revision),
        [0n, 1n],
      );
    }
  });

  test('concurrent no_stream creations: exactly one wins', async ({ log }) => {
    const id = stream();
    const attempts = await Promise.allSettled(
      Array.from({ length: 4 }, () =>
        log.append(id, [{ type: 'Created', data: {} }], { expectedVersion: 'no_stream' }),
      ),
    );
    assert.is(attempts.filter((a) => a.status === 'fulfilled').length, 1);
    assert.is((await log.readStream(id)).length, 1);
  });

  test('an append is atomic: a duplicate event id rejects the whole batch', async ({ log }) => {
    const id = stream();
    const eventId = randomUUID();
    await log.append(id, [{ type: 'A', data: {}, id: eventId }]);
    await rejects(
      log.append(id, [
        { type: 'B', data: {} },
        { type: 'C', data: {}, id: eventId },
      ]),
      DuplicateEventError,
    );
    assert.equal(
      (await log.readStream(id)).map((e) => e.type),
      ['A'],
    );
    assert.is(await log.streamVersion(id), 0n);
  });

  test('appendMany: several streams in one call, revisions continue each stream, results in input order', async ({
    log,
  }) => {
    const [existing, fresh, withMetadata] = [stream('many'), stream('many'), stream('many')];
    await log.append(existing, [
      { type: 'A0', data: {} },
      { type: 'A1', data: {} },
    ]);
    await log.setStreamMetadata(withMetadata, { maxCount: 100 });
    const results = await log.appendMany([
      { stream: fresh, events: [{ type: 'F0', data: { n: 0 } }] },
      {
        stream: existing,
        events: [
          { type: 'A2', data: {} },
          { type: 'A3', data: { deep: [1] } },
        ],
      },
      { stream: withMetadata, events: [{ type: 'M0', data: {}, metadata: { actor: 'x' } }] },
    ]);
    assert.equal(
      results.map((result) => result.nextExpectedVersion),
      [0n, 3n, 0n],
    );
    const read = await Promise.all([fresh, existing, withMetadata].map((id) => log.readStream(id)));
    assert.equal(
      read.map((events) => events.map((event) => [event.type, event.revision])),
      [
        [['F0', 0n]],
        [
          ['A0', 0n],
          ['A1', 1n],
          ['A2', 2n],
          ['A3', 3n],
        ],
        [['M0', 0n]],
      ],
    );
    assert.equal(read[1]![3]!.data, { deep: [1] });
    assert.equal(read[2]![0]!.metadata, { actor: 'x' });
    assert.equal(results[0]!.position, read[0]![0]!.position);
    assert.equal(results[1]!.position, read[1]![3]!.position);
    assert.ok(comparePositions(read[1]![2]!.position, read[1]![3]!.position) < 0);
    assert.is(await log.streamVersion(existing), 3n);
  });

  test('appendMany: concurrent calls over the same streams in opposite orders all land, no revision twice', async ({
    log,
  }) => {
    const [a, b] = [stream('many'), stream('many')];
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        log.appendMany(
          (i % 2 ? [a, b] : [b, a]).map((id) => ({
            stream: id,
            events: [
              { type: `E${i}`, data: {} },
              { type: `E${i}`, data: {} },
            ],
          })),
        ),
      ),
    );
    for (const id of [a, b]) {
      const events = await log.readStream(id);
      assert.equal(
        events.map((event) => event.revision),
        Array.from({ length: 16 }, (_, i) => BigInt(i)),
      );
      // Each call's two events are next to each other in its stream.
      for (let i = 0; i < 16; i += 2) assert.is(events[i]!.type, events[i + 1]!.type);
    }
  });

  test('appendMany: bad input is refused and writes nothing', async ({ log }) => {
    const id = stream('many');
    assert.match((await rejects(log.appendMany([]), Error)).message, /at least one stream/);
    assert.match(
      (
        await rejects(
          log.appendMany([
            { stream: id, events: [{ type: 'A', data: {} }] },
            { stream: id, events: [{ type: 'B', data: {} }] },
          ]),
          Error,
        )
      ).message,
      /twice/,
    );
    assert.match(
      (
        await rejects(
          log.appendMany([
            { stream: id, events: [{ type: 'A', data: {} }] },
            { stream: stream('many'), events: [] },
          ]),
          Error,
        )
      ).message,
      /at least one event/,
    );
    assert.is(await log.streamVersion(id), undefined);
  });

  test('appendMany: a duplicate event id rejects every stream of the call (one transaction)', async ({ log }) => {
    // EventStoreDB appends each stream on its own and only sees ids inside one stream (see esdb.ts).
    if (log.kind === 'esdb') return;
    const [first, second] = [stream('many'), stream('many')];
    const eventId = randomUUID();
    await log.append(first, [{ type: 'A', data: {}, id: eventId }]);
    await rejects(
      log.appendMany([
        { stream: second, events: [{ type: 'B', data: {} }] },
        { stream: first, events: [{ type: 'C', data: {}, id: eventId }] },
      ]),
      DuplicateEventError,
    );
    assert.is(await log.streamVersion(second), undefined);
    assert.equal(
      (await log.readStream(first)).map((event) => event.type),
      ['A'],
    );
  });

  test('text PostgreSQL cannot store (U+0000, unpaired surrogates, in data, metadata, keys) is refused, nothing written', async ({
    log,
  }) => {
    const bad = [
      { data: { note: 'a\0b' } },
      { data: { nested: [{ deep: 'x\uD800' }] } },
      { data: { ['key\uDC00']: 1 } },
      { data: {}, metadata: { agent: '\0' } },
    ];
    for (const { data, metadata } of bad) {
      const id = stream('unstorable');
      const event = { type: 'Noted', data, ...(metadata ? { metadata } : {}) };
      const error = await rejects(log.append(id, [{ type: 'Fine', data: {} }, event]), UnstorableEventError);
      assert.equal(error.streams, [id]);
      assert.is(await log.streamVersion(id), undefined);
    }
    // A valid surrogate pair and other control characters are stored exactly.
    const kept = stream('storable');
    await log.append(kept, [{ type: 'Noted', data: { note: 'smile \uD83D\uDE00 \u0001\t' } }]);
    assert.equal((await log.readStream(kept))[0]!.data, { note: 'smile \uD83D\uDE00 \u0001\t' });
  });

  test('appendMany: unstorable text names its streams and writes nothing (no stream of the call)', async ({ log }) => {
    const [good, bad, worse] = [stream('many'), stream('many'), stream('many')];
    const error = await rejects(
      log.appendMany([
        { stream: good, events: [{ type: 'A', data: { text: 'fine' } }] },
        { stream: bad, events: [{ type: 'B', data: { arguments: { extra: 'a\u0000b' } } }] },
        { stream: worse, events: [{ type: 'C', data: { message: '\uDFFF' } }] },
      ]),
      UnstorableEventError,
    );
    assert.equal(error.streams, [bad, worse]);
    assert.is(error.path, '$[0].data.arguments.extra');
    for (const id of [good, bad, worse]) assert.is(await log.streamVersion(id), undefined);
  });

  test('appendEach: each stream against its own expectation; a stale one fails alone, the rest are written', async ({
    log,
  }) => {
    const [exact, fresh, stale, missing, metadataOnly, exists, any] = [
      stream('each'),
      stream('each'),
      stream('each'),
      stream('each'),
      stream('each'),
      stream('each'),
      stream('each'),
    ];
    await log.append(exact, [{ type: 'A0', data: {} }]);
    await log.append(stale, [
      { type: 'S0', data: {} },
      { type: 'S1', data: {} },
    ]);
    await log.append(exists, [{ type: 'E0', data: {} }]);
    await log.setStreamMetadata(metadataOnly, { maxCount: 100 });
    const results = await log.appendEach([
      { stream: exact, expectedVersion: 0n, events: [{ type: 'A1', data: { n: 1 } }] },
      {
        stream: fresh,
        expectedVersion: 'no_stream',
        events: [
          { type: 'F0', data: {} },
          { type: 'F1', data: {} },
        ],
      },
      { stream: stale, expectedVersion: 0n, events: [{ type: 'S-late', data: {} }] },
      { stream: missing, expectedVersion: 'stream_exists', events: [{ type: 'M', data: {} }] },
      { stream: metadataOnly, expectedVersion: 0n, events: [{ type: 'X', data: {} }] },
      { stream: exists, expectedVersion: 'stream_exists', events: [{ type: 'E1', data: {} }] },
      { stream: any, expectedVersion: 'any', events: [{ type: 'Y', data: {} }] },
    ]);
    const versions = results.map((result) => (result instanceof Error ? result : result.nextExpectedVersion));
    assert.equal(versions.slice(0, 2), [1n, 1n]);
    assert.equal(versions.slice(5), [1n, 0n]);
    const staleError = results[2];
    assert.instance(staleError, WrongExpectedVersionError);
    assert.is((staleError as WrongExpectedVersionError).stream, stale);
    assert.is((staleError as WrongExpectedVersionError).actual, 1n);
    assert.instance(results[3], WrongExpectedVersionError);
    assert.is((results[3] as WrongExpectedVersionError).actual, undefined);
    assert.instance(results[4], WrongExpectedVersionError);
    assert.equal(
      (await log.readStream(exact)).map((e) => [e.type, e.revision, e.data]),
      [
        ['A0', 0n, {}],
        ['A1', 1n, { n: 1 }],
      ],
    );
    const [last] = await log.readStream(exact, { backwards: true, maxCount: 1 });
    assert.equal(last!.position, (results[0] as { position: unknown }).position);
    assert.equal(
      (await log.readStream(stale)).map((e) => e.type),
      ['S0', 'S1'],
    );
    assert.is(await log.streamVersion(missing), undefined);
    assert.is(await log.streamVersion(metadataOnly), undefined);
    assert.equal(
      (await log.readStream(fresh)).map((e) => e.revision),
      [0n, 1n],
    );
    // Only failures: nothing is written, and every stream reports its own.
    const none = await log.appendEach([
      { stream: exact, expectedVersion: 0n, events: [{ type: 'Late', data: {} }] },
      { stream: fresh, expectedVersion: 'no_stream', events: [{ type: 'Again', data: {} }] },
    ]);
    assert.equal(
      none.map((result) => (result instanceof WrongExpectedVersionError ? result.actual : result)),
      [1n, 1n],
    );
    assert.is(await log.streamVersion(exact), 1n);
  });

  test('appendEach: concurrent calls with one expectation on a stream: exactly one wins, no revision twice', async ({
    log,
  }) => {
    for (let round = 0; round < 3; round += 1) {
      const [shared, other] = [stream('each'), stream('each')];
      await log.append(shared, [{ type: 'Start', data: {} }]);
      const calls = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          log.appendEach([
            { stream: shared, expectedVersion: 0n, events: [{ type: 'Racer', data: { i } }] },
            { stream: other, expectedVersion: 'any', events: [{ type: 'Other', data: { i } }] },
          ]),
        ),
      );
      assert.is(calls.filter(([result]) => !(result instanceof Error)).length, 1);
      for (const [result] of calls) if (result instanceof Error) assert.instance(result, WrongExpectedVersionError);
      for (const [, result] of calls) assert.not.instance(result, Error);
      assert.equal(
        (await log.readStream(shared)).map((e) => e.revision),
        [0n, 1n],
      );
      assert.equal(
        (await log.readStream(other)).map((e) => e.revision),
        [0n, 1n, 2n, 3n, 4n],
      );
    }
  });

  test('appendEach: unstorable text is refused before anything is written; a duplicate id rejects the call', async ({
    log,
  }) => {
    const [good, bad] = [stream('each'), stream('each')];
    const error = await rejects(
      log.appendEach([
        { stream: good, expectedVersion: 'no_stream', events: [{ type: 'A', data: {} }] },
        { stream: bad, expectedVersion: 'no_stream', events: [{ type: 'B', data: { text: 'a\u0000b' } }] },
      ]),
      UnstorableEventError,
    );
    assert.equal(error.streams, [bad]);
    for (const id of [good, bad]) assert.is(await log.streamVersion(id), undefined);
    // EventStoreDB appends each stream on its own and only sees ids inside one stream (see esdb.ts).
    if (log.kind === 'esdb') return;
    const eventId = randomUUID();
    await log.append(good, [{ type: 'A', data: {}, id: eventId }]);
    await rejects(
      log.appendEach([
        { stream: bad, expectedVersion: 'no_stream', events: [{ type: 'B', data: {} }] },
        { stream: good, expectedVersion: 0n, events: [{ type: 'C', data: {}, id: eventId }] },
      ]),
      DuplicateEventError,
    );
    assert.is(await log.streamVersion(bad), undefined);
    assert.is(await log.streamVersion(good), 0n);
  });

  test('readStream: backwards, fromRevision, maxCount', async ({ log }) => {
    const id = stream();
    await log.append(
      id,
      Array.from({ length: 5 }, (_, i) => ({ type: `E${i}`, data: { i } })),
    );
    assert.equal(
      (await log.readStream(id, { backwards: true })).map((e) => e.type),
      ['E4', 'E3', 'E2', 'E1', 'E0'],
    );
    assert.equal(
      (await log.readStream(id, { fromRevision: 3n })).map((e) => e.type),
      ['E3', 'E4'],
    );
    assert.equal(
      (await log.readStream(id, { maxCount: 2 })).map((e) => e.type),
      ['E0', 'E1'],
    );
    assert.equal(
      (await log.readStream(id, { backwards: true, maxCount: 1 })).map((e) => e.type),
      ['E4'],
    );
    assert.equal(
      (await log.readStream(id, { backwards: true, fromRevision: 1n })).map((e) => e.type),
      ['E1', 'E0'],
    );
    assert.equal(await log.readStream(stream()), []);
  });

  test('readAll pages through the global order, each event once', async ({ log }) => {
    const tag = randomUUID();
    const streams = [stream('a'), stream('b'), stream('c')];
    for (let i = 0; i < 12; i += 1) await log.append(streams[i % 3]!, [{ type: 'Paged', data: { i, tag } }]);
    // One batch of 120 spans a power of ten inside a single transaction: positions must sort as numbers.
    await log.append(
      streams[0]!,
      Array.from({ length: 120 }, (_, k) => ({ type: 'Paged', data: { i: 12 + k, tag } })),
    );
    const seen: RecordedEvent[] = [];
    let after = undefined as RecordedEvent['position'] | undefined;
    const mine = () => seen.filter((e) => (e.data as { tag?: string }).tag === tag);
    // On PostgreSQL, a transaction still running anywhere on the server (another test's) holds events
    // back until it ends: keep paging from where we are until ours have all arrived.
    const deadline = Date.now() + 10_000;
    while (mine().length < 132 && Date.now() < deadline) {
      const page = await log.readAll(after ? { after, maxCount: 7 } : { maxCount: 7 });
      if (page.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      seen.push(...page);
      after = page[page.length - 1]!.position;
    }
    const ours = mine();
    assert.equal(
      ours.map((e) => (e.data as { i: number }).i),
      Array.from({ length: 132 }, (_, i) => i),
    );
    assert.is(new Set(seen.map((e) => e.id)).size, seen.length);
    for (let i = 1; i < seen.length; i += 1) assert.ok(comparePositions(seen[i - 1]!.position, seen[i]!.position) < 0);
    const head = await log.headPosition();
    assert.ok(head);
    assert.ok(comparePositions(head, seen[seen.length - 1]!.position) >= 0);
  });

  test('subscribeAll catches up, then receives new events live, in order', async ({ log }) => {
    const tag = randomUUID();
    const id = stream();
    await log.append(id, [{ type: 'Before', data: { tag } }]);
    const received: string[] = [];
    const subscription = log.subscribeAll({
      onEvents: async (events) => {
        for (const e of events) if ((e.data as { tag?: string }).tag === tag) received.push(e.type);
      },
    });
    await until(() => received.length === 1);
    await log.append(id, [
      { type: 'After1', data: { tag } },
      { type: 'After2', data: { tag } },
    ]);
    await until(() => received.length === 3);
    await subscription.close();
    assert.equal(received, ['Before', 'After1', 'After2']);
  });

  test('subscribeAll: live subscriptions (slow, small-batched, late, reopened) each see every event once, in order, under concurrent writers', async ({
    log,
  }) => {
    const tag = randomUUID();
    const start = await log.headPosition();
    type Seen = { events: RecordedEvent[]; subscription?: { close(): Promise<void> } };
    const open = (seen: Seen, options: { batchSize?: number; slowMs?: number; after?: RecordedEvent['position'] }) => {
      const after = options.after ?? start;
      seen.subscription = log.subscribeAll({
        ...(after ? { after } : {}),
        ...(options.batchSize ? { batchSize: options.batchSize } : {}),
        onEvents: async (events) => {
          seen.events.push(...events);
          if (options.slowMs) await new Promise((resolve) => setTimeout(resolve, options.slowMs));
        },
      });
    };
    const quick: Seen = { events: [] };
    const slow: Seen = { events: [] };
    const small: Seen = { events: [] };
    const late: Seen = { events: [] };
    const reopened: Seen = { events: [] };
    open(quick, {});
    open(slow, { slowMs: 15 });
    open(small, { batchSize: 3 });
    open(reopened, {});
    const writers = Array.from({ length: 4 }, (_, w) =>
      (async () => {
        for (let i = 0; i < 25; i += 1) {
          if (i % 2) await log.append(stream('sub'), [{ type: 'T', data: { tag, w, i } }]);
          else
            await log.appendMany([
              { stream: stream('sub'), events: [{ type: 'T', data: { tag, w, i } }] },
              { stream: stream('sub'), events: [{ type: 'T', data: { tag, w, i, second: true } }] },
            ]);
          if (w === 0 && i === 10) open(late, {});
          if (w === 1 && i === 12) {
            // Closed and opened again from where it stopped: nothing lost, nothing twice.
            await reopened.subscription!.close();
            open(
              reopened,
              reopened.events.length ? { after: reopened.events[reopened.events.length - 1]!.position } : {},
            );
          }
        }
      })(),
    );
    await Promise.all(writers);
    const expected = 4 * (13 * 2 + 12);
    const ours = (seen: Seen) => seen.events.filter((event) => (event.data as { tag?: string }).tag === tag);
    await until(() => [quick, slow, small, late, reopened].every((seen) => ours(seen).length >= expected), 15_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const seen of [quick, slow, small, late, reopened]) {
      await seen.subscription!.close();
      assert.is(ours(seen).length, expected);
      assert.is(new Set(seen.events.map((event) => event.id)).size, seen.events.length);
      for (let i = 1; i < seen.events.length; i += 1)
        assert.ok(comparePositions(seen.events[i - 1]!.position, seen.events[i]!.position) < 0);
    }
  });

  test('subscribeAll from a position skips what came before it', async ({ log }) => {
    const tag = randomUUID();
    const id = stream();
    const first = await log.append(id, [{ type: 'Old', data: { tag } }]);
    await log.append(id, [{ type: 'New', data: { tag } }]);
    const received: string[] = [];
    const subscription = log.subscribeAll({
      after: first.position,
      onEvents: async (events) => {
        for (const e of events) if ((e.data as { tag?: string }).tag === tag) received.push(e.type);
      },
    });
    await until(() => received.length === 1);
    await subscription.close();
    assert.equal(received, ['New']);
  });

  test('stream metadata: retention hides old events ($maxCount, $tb)', async ({ log }) => {
    const id = stream('retained');
    await log.append(
      id,
      Array.from({ length: 6 }, (_, i) => ({ type: 'Tick', data: { i } })),
    );
    await log.setStreamMetadata(id, { maxCount: 3 });
    assert.equal(await log.getStreamMetadata(id), { maxCount: 3 });
    assert.equal(
      (await log.readStream(id)).map((e) => (e.data as { i: number }).i),
      [3, 4, 5],
    );
    await log.setStreamMetadata(id, { truncateBefore: 5n });
    assert.equal(
      (await log.readStream(id)).map((e) => (e.data as { i: number }).i),
      [5],
    );
    assert.equal(await log.getStreamMetadata(stream()), {});
    // The version keeps counting: appends after truncation continue the revisions.
    const next = await log.append(id, [{ type: 'Tick', data: { i: 6 } }], { expectedVersion: 5n });
    assert.is(next.nextExpectedVersion, 6n);
  });

  test('readStream backwards with maxCount: pages of a long stream, and of one whose oldest events retention hides', async ({
    log,
  }) => {
    const id = stream('paged');
    await log.append(
      id,
      Array.from({ length: 200 }, (_, i) => ({ type: 'Tick', data: { i } })),
    );
    const indexes = (events: RecordedEvent[]) => events.map((e) => (e.data as { i: number }).i);
    const newest = await log.readStream(id, { backwards: true, maxCount: 66 });
    assert.equal(
      indexes(newest),
      Array.from({ length: 66 }, (_, k) => 199 - k),
    );
    assert.equal(indexes(await log.readStream(id, { backwards: true, maxCount: 3, fromRevision: 10n })), [10, 9, 8]);
    assert.equal(indexes(await log.readStream(id, { backwards: true, maxCount: 5, fromRevision: 2n })), [2, 1, 0]);
    // Retention hides the oldest: a page reaching past them holds the retained events only.
    await log.setStreamMetadata(id, { truncateBefore: 190n });
    assert.equal(
      indexes(await log.readStream(id, { backwards: true, maxCount: 66 })),
      [199, 198, 197, 196, 195, 194, 193, 192, 191, 190],
    );
    assert.equal(await log.readStream(stream('absent'), { backwards: true, maxCount: 66 }), []);
  });

  test('stream metadata: $maxAge hides events older than the age', async ({ log }) => {
    const id = stream('aged');
    await log.append(id, [{ type: 'Tick', data: {} }]);
    await log.setStreamMetadata(id, { maxAgeSeconds: 3600 });
    assert.is((await log.readStream(id)).length, 1);
    assert.equal(await log.getStreamMetadata(id), { maxAgeSeconds: 3600 });
  });

  return test;
};
