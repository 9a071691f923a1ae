// The group commit over the real PostgreSQL adapter (embedded PGlite, and a server when TEST_DATABASE_URL
// is set): when one stream's share of a commit is refused, by the adapter or by the database itself,
// the other streams of that commit are still written and only the faulty stream's callers get the error.
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GroupCommit } from '../../eventstore/group-commit.ts';
import { DuplicateEventError, UnstorableEventError, type StreamAppend } from '../../eventstore/port.ts';
import { PostgresEventLog } from '../../eventstore/postgres.ts';
import { rejects } from '../support/assertions.ts';
import { embeddedDatabase, serverDatabase, serverUrl, type TestDatabase } from '../support/databases.ts';
import { skipSuite } from '../support/skip.ts';

type Context = { log: PostgresEventLog; database: TestDatabase };

const groupCommitSuite = (name: string, open: () => Promise<TestDatabase>) => {
  const test = suite<Context>(`eventstore: group commit on ${name}`);
  test.before(async (context) => {
    context.database = await open();
    context.log = new PostgresEventLog(context.database.db, { pollMs: 100 });
  });
  test.after(async ({ log, database }) => {
    await log.close();
    await database.dispose();
  });

  /** The real log, with the streams of each appendMany call recorded. */
  const recorded = (log: PostgresEventLog) => {
    const calls: string[][] = [];
    return {
      calls,
      appendMany: (appends: readonly StreamAppend[]) => {
        calls.push(appends.map((append) => append.stream));
        return log.appendMany(appends);
      },
    };
  };
  const streams = (n: number) => Array.from({ length: n }, () => `gc-${randomUUID()}`);

  test('unstorable text in one stream: its caller gets UnstorableEventError, the others commit together', async ({
    log,
  }) => {
    const store = recorded(log);
    const commits = new GroupCommit(store);
    const [a, bad, b, worse] = streams(4);
    const appended = [
      commits.append(a!, [{ type: 'ToolCalled', data: { n: 1 } }]),
      commits.append(bad!, [{ type: 'ToolCalled', data: { arguments: { extra: 'x\0y' } } }]),
      commits.append(b!, [{ type: 'ToolCalled', data: { n: 2 } }]),
      commits.append(worse!, [{ type: 'McpEventEmitted', data: { message: { text: '\uD800' } } }]),
      commits.append(a!, [{ type: 'ToolCalled', data: { n: 3 } }]),
    ];
    const [first, refused, second, refusedToo, third] = await Promise.allSettled(appended);
    assert.equal(
      [first, second, third].map((r) => (r?.status === 'fulfilled' ? r.value.nextExpectedVersion : r?.reason)),
      [0n, 0n, 1n],
    );
    for (const outcome of [refused, refusedToo]) {
      assert.is(outcome!.status, 'rejected');
      assert.instance((outcome as PromiseRejectedResult).reason, UnstorableEventError);
    }
    // One refused commit of all four streams, then one commit of the two good ones.
    assert.equal(store.calls, [
      [a, bad, b, worse],
      [a, b],
    ]);
    assert.equal(
      (await log.readStream(a!)).map((event) => event.data),
      [{ n: 1 }, { n: 3 }],
    );
    assert.is(await log.streamVersion(bad!), undefined);
    assert.is(await log.streamVersion(worse!), undefined);
  });

  test('a share the database itself refuses (bad or repeated event id): each stream is tried alone, only it fails', async ({
    log,
  }) => {
    const store = recorded(log);
    const commits = new GroupCommit(store);
    const taken = randomUUID();
    const [repeated, good1, malformed, good2] = streams(4);
    await log.append(repeated!, [{ type: 'First', data: {}, id: taken }]);
    const results = await Promise.allSettled([
      commits.append(good1!, [{ type: 'E', data: { i: 1 } }]),
      // The database's unique index on event_id refuses this one.
      commits.append(repeated!, [{ type: 'Again', data: {}, id: taken }]),
      // And its uuid cast refuses this one: no check of ours sees it before PostgreSQL does.
      commits.append(malformed!, [{ type: 'E', data: {}, id: 'not-a-uuid' }]),
      commits.append(good2!, [{ type: 'E', data: { i: 2 } }]),
    ]);
    assert.equal(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'rejected', 'fulfilled'],
    );
    assert.instance((results[1] as PromiseRejectedResult).reason, DuplicateEventError);
    assert.match(String((results[2] as PromiseRejectedResult).reason), /uuid/);
    assert.equal(store.calls[0], [good1, repeated, malformed, good2]);
    // Then each stream alone (concurrently, so in any order).
    assert.equal(
      store.calls
        .slice(1)
        .map((call) => call.join())
        .sort(),
      [good1, repeated, malformed, good2].map(String).sort(),
    );
    assert.equal(
      (await log.readStream(good1!)).map((event) => event.data),
      [{ i: 1 }],
    );
    assert.equal(
      (await log.readStream(good2!)).map((event) => event.data),
      [{ i: 2 }],
    );
    assert.equal(
      (await log.readStream(repeated!)).map((event) => event.type),
      ['First'],
    );
    assert.is(await log.streamVersion(malformed!), undefined);
    // The queue goes on: the next commit is a normal one.
    assert.is((await commits.append(good1!, [{ type: 'E', data: { i: 3 } }])).nextExpectedVersion, 1n);
  });

  return test;
};

groupCommitSuite('PGlite', embeddedDatabase).run();
if (serverUrl()) groupCommitSuite('a PostgreSQL server', serverDatabase).run();
else skipSuite('eventstore: group commit on a PostgreSQL server', 'TEST_DATABASE_URL not set', 2);
