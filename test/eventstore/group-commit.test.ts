// The group commit over a real adapter (memory; the PostgreSQL statement behind appendMany is covered by
// the contract suite): batching, each caller's revision, order within a stream, failures, page size.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GroupCommit } from '../../eventstore/group-commit.ts';
import { MemoryEventLog } from '../../eventstore/memory.ts';
import { DuplicateEventError, UnstorableEventError, type StreamAppend } from '../../eventstore/port.ts';
import { rejects } from '../support/assertions.ts';

const counting = (log: MemoryEventLog, fail?: (appends: readonly StreamAppend[]) => boolean) => {
  const calls: string[][] = [];
  return {
    calls,
    appendMany: async (appends: readonly StreamAppend[]) => {
      calls.push(appends.map((append) => append.stream));
      if (fail?.(appends)) throw new Error('disk full');
      return log.appendMany(appends);
    },
  };
};

const test = suite('eventstore: group commit');

test('appends made while a commit is in flight share the next one; each caller gets its own revision', async () => {
  const log = new MemoryEventLog();
  const store = counting(log);
  const commits = new GroupCommit(store);
  const results = await Promise.all(
    Array.from({ length: 30 }, (_, i) => commits.append(`s-${i % 3}`, [{ type: 'E', data: { i } }])),
  );
  // The first tick's 30 appends fit in one commit of three streams.
  assert.equal(store.calls, [['s-0', 's-1', 's-2']]);
  assert.equal(
    results.map((result) => result.nextExpectedVersion),
    Array.from({ length: 30 }, (_, i) => BigInt(Math.floor(i / 3))),
  );
  for (const stream of ['s-0', 's-1', 's-2']) {
    const events = await log.readStream(stream);
    assert.equal(
      events.map((event) => (event.data as { i: number }).i),
      Array.from({ length: 10 }, (_, k) => k * 3 + Number(stream.at(-1))),
    );
  }
  assert.equal(commits.stats, { commits: 1, events: 30 });
});

test('a stream keeps its order across commits; flush waits for everything queued', async () => {
  const log = new MemoryEventLog();
  const store = counting(log);
  const commits = new GroupCommit(store);
  void commits.append('s', [{ type: 'E', data: { n: 1 } }]);
  // The first commit starts after this turn of the event loop.
  await new Promise((resolve) => setImmediate(resolve));
  for (const n of [2, 3, 4]) void commits.append('s', [{ type: 'E', data: { n } }]);
  await commits.flush();
  assert.equal(
    (await log.readStream('s')).map((event) => (event.data as { n: number }).n),
    [1, 2, 3, 4],
  );
  // The first append was in flight when the others came: two commits, in order.
  assert.equal(store.calls, [['s'], ['s']]);
});

test('appends made in one turn of the event loop, even several awaits apart, share one commit', async () => {
  const log = new MemoryEventLog();
  const store = counting(log);
  const commits = new GroupCommit(store);
  // As a fast tool call: the priming event, then after a few promise hops the response.
  const priming = commits.append('session-1', [{ type: 'Priming', data: {} }]);
  for (let hop = 0; hop < 20; hop += 1) await Promise.resolve();
  const response = commits.append('session-1', [{ type: 'Response', data: {} }]);
  assert.equal([(await priming).nextExpectedVersion, (await response).nextExpectedVersion], [0n, 1n]);
  assert.equal(store.calls, [['session-1']]);
  // A later turn's append is a new commit.
  await new Promise((resolve) => setTimeout(resolve, 1));
  await commits.append('session-1', [{ type: 'Later', data: {} }]);
  assert.equal(store.calls, [['session-1'], ['session-1']]);
});

test('a failed commit rejects every caller in it and writes nothing; the next commit goes ahead', async () => {
  const log = new MemoryEventLog();
  let failing = true;
  const store = counting(log, () => failing);
  const commits = new GroupCommit(store);
  const failed = [commits.append('a', [{ type: 'E', data: {} }]), commits.append('b', [{ type: 'E', data: {} }])];
  for (const attempt of failed) assert.is((await rejects(attempt, Error)).message, 'disk full');
  // The commit of both, then each alone (a failed commit of several streams is split).
  assert.equal(store.calls, [['a', 'b'], ['a'], ['b']]);
  assert.is(await log.streamVersion('a'), undefined);
  failing = false;
  assert.is((await commits.append('a', [{ type: 'E', data: {} }])).nextExpectedVersion, 0n);
  await rejects(commits.append('a', []), Error);
});

test('a commit that fails for one stream is split: every other caller commits, only that stream fails', async () => {
  const log = new MemoryEventLog();
  const store = counting(log, (appends) => appends.some((append) => append.stream === 'bad'));
  const commits = new GroupCommit(store);
  const outcomes = await Promise.allSettled([
    commits.append('a', [{ type: 'E', data: { n: 1 } }]),
    commits.append('bad', [{ type: 'E', data: {} }]),
    commits.append('b', [{ type: 'E', data: { n: 2 } }]),
    commits.append('a', [{ type: 'E', data: { n: 3 } }]),
  ]);
  assert.equal(
    outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.nextExpectedVersion : 'failed')),
    [0n, 'failed', 0n, 1n],
  );
  assert.equal(store.calls[0], ['a', 'bad', 'b']);
  assert.equal(store.calls.slice(1).map(String).sort(), ['a', 'b', 'bad']);
  assert.equal(
    (await log.readStream('a')).map((event) => (event.data as { n: number }).n),
    [1, 3],
  );
  assert.equal(commits.stats, { commits: 2, events: 3 });
});

test('unstorable text: the streams the adapter names fail at once, the rest commit together once more', async () => {
  const log = new MemoryEventLog();
  const store = counting(log);
  const commits = new GroupCommit(store);
  const outcomes = await Promise.allSettled([
    commits.append('a', [{ type: 'E', data: {} }]),
    commits.append('nul', [{ type: 'E', data: { extra: 'a\0b' } }]),
    commits.append('lone', [{ type: 'E', data: { ['\uDBFF']: 1 } }]),
    commits.append('b', [{ type: 'E', data: {} }]),
  ]);
  assert.equal(
    outcomes.map((outcome) => outcome.status),
    ['fulfilled', 'rejected', 'rejected', 'fulfilled'],
  );
  const reason = (outcomes[1] as PromiseRejectedResult).reason as UnstorableEventError;
  assert.instance(reason, UnstorableEventError);
  assert.equal(reason.streams, ['nul', 'lone']);
  assert.equal(store.calls, [
    ['a', 'nul', 'lone', 'b'],
    ['a', 'b'],
  ]);
  assert.is(await log.streamVersion('nul'), undefined);
});

test('event ids are fixed when queued: a commit tried again cannot write an event twice', async () => {
  const log = new MemoryEventLog();
  const seen: (string | undefined)[][] = [];
  let calls = 0;
  const commits = new GroupCommit({
    appendMany: async (appends) => {
      seen.push(appends.flatMap((append) => append.events.map((event) => event.id)));
      calls += 1;
      // The first commit is written but reported as failed (a connection lost after COMMIT).
      const results = await log.appendMany(appends);
      if (calls === 1) throw new Error('connection lost');
      return results;
    },
  });
  const outcomes = await Promise.allSettled([
    commits.append('a', [{ type: 'E', data: {} }]),
    commits.append('b', [{ type: 'E', data: {} }]),
  ]);
  assert.ok(seen[0]!.every((id) => typeof id === 'string'));
  assert.equal(seen.slice(1).flat().sort(), [...seen[0]!].sort());
  // Each retry hits its own id: refused as a duplicate instead of written twice.
  for (const outcome of outcomes) assert.instance((outcome as PromiseRejectedResult).reason, DuplicateEventError);
  assert.is((await log.readAll()).length, 2);
});

test('a backlog larger than a commit goes out in several, oldest streams first', async () => {
  const log = new MemoryEventLog();
  const store = counting(log);
  const commits = new GroupCommit(store, 4);
  await Promise.all(
    ['a', 'b', 'c', 'd', 'e'].map((stream) =>
      commits.append(stream, [
        { type: 'E', data: {} },
        { type: 'E', data: {} },
      ]),
    ),
  );
  assert.equal(store.calls, [['a', 'b'], ['c', 'd'], ['e']]);
});

test.run();
