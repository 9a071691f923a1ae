// The versioned group commit over a real adapter (memory; the PostgreSQL statement behind appendEach is
// covered by the contract suite, and this file runs the class over PGlite and a server too): batching,
// each caller's own expectation, one append per stream per commit, failures.
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryEventLog } from '../../eventstore/memory.ts';
import { PostgresEventLog } from '../../eventstore/postgres.ts';
import {
  DuplicateEventError,
  WrongExpectedVersionError,
  type EventLog,
  type ExpectedAppend,
} from '../../eventstore/port.ts';
import { VersionedCommit } from '../../eventstore/versioned-commit.ts';
import { embeddedDatabase, serverDatabase, serverUrl } from '../support/databases.ts';
import { rejects } from '../support/assertions.ts';

/** The log, with the streams of each appendEach call recorded. */
const counting = (log: EventLog) => {
  const calls: string[][] = [];
  return {
    calls,
    append: log.append.bind(log),
    appendEach: async (appends: readonly ExpectedAppend[]) => {
      calls.push(appends.map((append) => append.stream));
      return log.appendEach(appends);
    },
  };
};

const versionedSuite = (name: string, open: () => Promise<{ log: EventLog; dispose(): Promise<void> }>) => {
  const test = suite<{ log: EventLog; dispose(): Promise<void> }>(`eventstore: versioned group commit (${name})`);
  test.before(async (context) => {
    Object.assign(context, await open());
  });
  test.after(async (context) => context.dispose());

  test('appends made together share one commit; each is checked against its own version', async ({ log }) => {
    const streams = Array.from({ length: 6 }, () => `grant-${randomUUID()}`);
    for (const stream of streams) await log.append(stream, [{ type: 'Started', data: {} }]);
    const store = counting(log);
    const commits = new VersionedCommit(store);
    // Every other stream is expected one revision ahead of where it is: those fail, the rest are written.
    const outcomes = await Promise.allSettled(
      streams.map((stream, i) => commits.append(stream, [{ type: 'Next', data: { i } }], i % 2 === 0 ? 0n : 1n)),
    );
    assert.equal(store.calls, [streams]);
    assert.equal(commits.stats, { commits: 1, appends: 6 });
    outcomes.forEach((outcome, i) => {
      if (i % 2 === 0) {
        assert.is(outcome.status, 'fulfilled');
        assert.is((outcome as PromiseFulfilledResult<{ nextExpectedVersion: bigint }>).value.nextExpectedVersion, 1n);
      } else {
        assert.is(outcome.status, 'rejected');
        const error = (outcome as PromiseRejectedResult).reason as WrongExpectedVersionError;
        assert.instance(error, WrongExpectedVersionError);
        assert.is(error.actual, 0n);
      }
    });
    for (const [i, stream] of streams.entries()) assert.is(await log.streamVersion(stream), i % 2 === 0 ? 1n : 0n);
  });

  test('two appends to one stream go in two commits: the one that expected the old version loses', async ({ log }) => {
    const stream = `grant-${randomUUID()}`;
    const other = `grant-${randomUUID()}`;
    await log.append(stream, [{ type: 'Started', data: {} }]);
    const store = counting(log);
    const commits = new VersionedCommit(store);
    const [first, second, third] = await Promise.allSettled([
      commits.append(stream, [{ type: 'A', data: {} }], 0n),
      commits.append(stream, [{ type: 'B', data: {} }], 0n),
      commits.append(other, [{ type: 'C', data: {} }], 'no_stream'),
    ]);
    assert.equal(store.calls, [[stream, other], [stream]]);
    assert.is(first.status, 'fulfilled');
    assert.is(third.status, 'fulfilled');
    assert.instance((second as PromiseRejectedResult).reason, WrongExpectedVersionError);
    assert.equal(
      (await log.readStream(stream)).map((event) => event.type),
      ['Started', 'A'],
    );
  });

  test('a commit that fails as a whole is tried append by append: only the caller at fault fails', async ({ log }) => {
    const [good, bad] = [`grant-${randomUUID()}`, `grant-${randomUUID()}`];
    const eventId = randomUUID();
    await log.append(bad, [{ type: 'Started', data: {}, id: eventId }]);
    const commits = new VersionedCommit(log);
    const [kept, refused] = await Promise.allSettled([
      commits.append(good, [{ type: 'A', data: {} }], 'no_stream'),
      commits.append(bad, [{ type: 'Again', data: {}, id: eventId }], 0n),
    ]);
    assert.is(kept.status, 'fulfilled');
    assert.instance((refused as PromiseRejectedResult).reason, DuplicateEventError);
    assert.is(await log.streamVersion(good), 0n);
    assert.is(await log.streamVersion(bad), 0n);
    await rejects(commits.append(good, [], 0n), Error);
    await commits.flush();
  });

  return test;
};

versionedSuite('memory', async () => ({ log: new MemoryEventLog(), dispose: async () => undefined })).run();
const onDatabase = (open: typeof embeddedDatabase) => async () => {
  const database = await open();
  const log = new PostgresEventLog(database.db, { pollMs: 100 });
  return {
    log,
    async dispose() {
      await log.close();
      await database.dispose();
    },
  };
};
versionedSuite('PGlite', onDatabase(embeddedDatabase)).run();
if (serverUrl()) versionedSuite('a PostgreSQL server', onDatabase(serverDatabase)).run();
