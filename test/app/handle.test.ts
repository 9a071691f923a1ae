// app/handle.ts with a StateCache: a command on a stream this instance wrote last skips the read, and a
// cached state that the log has moved past never changes a command's outcome (another writer's append,
// a refusal or a no-op decided on it): the log decides.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { handleCommand, StateCache } from '../../app/handle.ts';
import { DomainError, type Decider } from '../../domain/shared.ts';
import { GroupCommit } from '../../eventstore/group-commit.ts';
import { MemoryEventLog } from '../../eventstore/memory.ts';
import type { EventLog } from '../../eventstore/port.ts';
import { VersionedCommit } from '../../eventstore/versioned-commit.ts';

type Event =
  { type: 'Added'; data: { n: number } } | { type: 'Closed'; data: object } | { type: 'Reopened'; data: object };
type State = { total: number; closed: boolean };
type Command = { type: 'Add'; n: number } | { type: 'Close' };

/** A counter that refuses Add once closed and ignores a second Close. */
const counter: Decider<Command, Event, State> = {
  initialState: () => ({ total: 0, closed: false }),
  decide: (command, state) => {
    if (command.type === 'Close') return state.closed ? [] : [{ type: 'Closed', data: {} }];
    if (state.closed) throw new DomainError('closed', 'the counter is closed');
    return [{ type: 'Added', data: { n: command.n } }];
  },
  evolve: (state, event) =>
    event.type === 'Added'
      ? { ...state, total: state.total + event.data.n }
      : { ...state, closed: event.type === 'Closed' },
  parse: (event) => event as Event,
};

const STREAM = 'counter-1';
const actor = { type: 'system', id: 'test' } as const;

/** The memory log, counting readStream calls. */
const countingLog = () => {
  const log = new MemoryEventLog();
  const reads = { count: 0 };
  const counted = new Proxy(log, {
    get(target, property, receiver) {
      if (property === 'readStream')
        return (...args: Parameters<EventLog['readStream']>) => {
          reads.count += 1;
          return target.readStream(...args);
        };
      return Reflect.get(target, property, receiver);
    },
  });
  return { log: counted, raw: log, reads };
};
const types = async (log: EventLog) => (await log.readStream(STREAM)).map((event) => event.type);

const test = suite('app/handle: the state cache');

test('a command on a stream this cache wrote last is decided without reading the stream', async () => {
  const { log, reads } = countingLog();
  const cache = new StateCache<State>();
  await handleCommand(log, STREAM, counter, { type: 'Add', n: 2 }, { actor, cache });
  const readsBefore = reads.count;
  const second = await handleCommand(log, STREAM, counter, { type: 'Add', n: 3 }, { actor, cache });
  assert.is(reads.count, readsBefore);
  assert.equal(second.state, { total: 5, closed: false });
  assert.is(second.appended?.nextExpectedVersion, 1n);
  assert.equal(await types(log), ['Added', 'Added']);
});

test("another writer's append: the cached state's append conflicts and the log's state refuses", async () => {
  const { log, raw } = countingLog();
  const cache = new StateCache<State>();
  await handleCommand(log, STREAM, counter, { type: 'Add', n: 1 }, { actor, cache });
  // Another instance closes the counter: this cache does not see it.
  await raw.append(STREAM, [{ type: 'Closed', data: {} }]);
  const error = await handleCommand(log, STREAM, counter, { type: 'Add', n: 1 }, { actor, cache }).catch(
    (caught: unknown) => caught,
  );
  assert.instance(error, DomainError);
  assert.is((error as DomainError).code, 'closed');
  assert.equal(await types(log), ['Added', 'Closed']);
  assert.is(cache.get(STREAM), undefined);
});

test('a refusal decided on a cached state the log has moved past is decided again on the log', async () => {
  const { log, raw } = countingLog();
  const cache = new StateCache<State>();
  await handleCommand(log, STREAM, counter, { type: 'Close' }, { actor, cache });
  await raw.append(STREAM, [{ type: 'Reopened', data: {} }]);
  // The cached state says closed; the log says open: the Add is accepted, once.
  const result = await handleCommand(log, STREAM, counter, { type: 'Add', n: 4 }, { actor, cache }, 1);
  assert.equal(result.state, { total: 4, closed: false });
  assert.equal(await types(log), ['Closed', 'Reopened', 'Added']);
  assert.equal(cache.get(STREAM)?.version, 2n);
});

test('a no-op decided on a cached state the log has moved past is decided again on the log', async () => {
  const { log, raw } = countingLog();
  const cache = new StateCache<State>();
  await handleCommand(log, STREAM, counter, { type: 'Close' }, { actor, cache });
  await raw.append(STREAM, [{ type: 'Reopened', data: {} }]);
  const result = await handleCommand(log, STREAM, counter, { type: 'Close' }, { actor, cache }, 1);
  assert.equal(
    result.events.map((event) => event.type),
    ['Closed'],
  );
  assert.equal(await types(log), ['Closed', 'Reopened', 'Closed']);
});

test('a refusal that the log confirms is the answer, and nothing is appended', async () => {
  const { log } = countingLog();
  const cache = new StateCache<State>();
  await handleCommand(log, STREAM, counter, { type: 'Close' }, { actor, cache });
  const error = await handleCommand(log, STREAM, counter, { type: 'Add', n: 1 }, { actor, cache }).catch(
    (caught: unknown) => caught,
  );
  assert.is((error as DomainError).code, 'closed');
  assert.equal(await types(log), ['Closed']);
});

test('the cache keeps at most its bound, dropping the stream written longest ago', async () => {
  const cache = new StateCache<State>(2);
  const entry = (total: number) => ({ state: { total, closed: false }, version: 0n, sinceSnapshot: 1 });
  cache.set('a', entry(1));
  cache.set('b', entry(2));
  cache.set('a', entry(3));
  cache.set('c', entry(4));
  assert.is(cache.get('b'), undefined);
  assert.is(cache.get('a')?.state.total, 3);
  assert.is(cache.get('c')?.state.total, 4);
});

test('new streams with a group commit: concurrent commands share one commit, each its own stream', async () => {
  const log = new MemoryEventLog();
  const group = new GroupCommit(log);
  const streams = ['counter-a', 'counter-b', 'counter-c'];
  const results = await Promise.all(
    streams.map((stream) =>
      handleCommand(log, stream, counter, { type: 'Add', n: 1 }, { actor, newStream: true, groupCommit: group }),
    ),
  );
  assert.is(group.stats.commits, 1);
  assert.equal(
    results.map((result) => result.appended?.nextExpectedVersion),
    [0n, 0n, 0n],
  );
  for (const stream of streams)
    assert.equal(
      (await log.readStream(stream)).map((event) => event.type),
      ['Added'],
    );
});

test('existing streams with a versioned commit: concurrent commands share one commit; a stale cached state is decided again', async () => {
  const { log, raw } = countingLog();
  const commits = new VersionedCommit(log);
  const cache = new StateCache<State>();
  const streams = ['counter-a', 'counter-b', 'counter-c'];
  for (const stream of streams) await handleCommand(log, stream, counter, { type: 'Add', n: 1 }, { actor, cache });
  // Another writer moves counter-b past the cached state: its command fails in the shared commit and is
  // decided again on the log, the others go through on their cached state.
  await raw.append('counter-b', [{ type: 'Closed', data: {} }]);
  const outcomes = await Promise.allSettled(
    streams.map((stream) =>
      handleCommand(log, stream, counter, { type: 'Add', n: 2 }, { actor, cache, versionedCommit: commits }),
    ),
  );
  assert.equal(commits.stats, { commits: 1, appends: 3 });
  assert.equal(
    outcomes.map((outcome) => outcome.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.is(((outcomes[1] as PromiseRejectedResult).reason as DomainError).code, 'closed');
  for (const stream of ['counter-a', 'counter-c'])
    assert.equal(
      (await raw.readStream(stream)).map((event) => event.type),
      ['Added', 'Added'],
    );
  assert.equal(
    (await raw.readStream('counter-b')).map((event) => event.type),
    ['Added', 'Closed'],
  );
});

test.run();
