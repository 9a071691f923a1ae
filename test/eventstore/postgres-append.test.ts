// The one-event append statement (APPEND_ONE): what it stores and what it refuses, on both databases.
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DuplicateEventError, WrongExpectedVersionError } from '../../eventstore/port.ts';
import { PostgresEventLog } from '../../eventstore/postgres.ts';
import { embeddedDatabase, serverDatabase, serverUrl, type TestDatabase } from '../support/databases.ts';
import { skipSuite } from '../support/skip.ts';

const rejects = async (promise: Promise<unknown>, type: new (...args: never[]) => Error): Promise<Error> => {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, type);
    return error as Error;
  }
  throw new Error(`expected ${type.name}`);
};

const appendOne = (name: string, open: () => Promise<TestDatabase>) => {
  const test = suite<{ database?: TestDatabase; log?: PostgresEventLog }>(name);
  test.before(async (context) => {
    context.database = await open();
    context.log = new PostgresEventLog(context.database.db, { pollMs: 100 });
  });
  test.after(async ({ database, log }) => {
    await log?.close();
    await database?.dispose();
  });

  test('keeps the id, type, data, metadata and a given time, at the next revision', async ({ log }) => {
    const stream = `one-${randomUUID()}`;
    await log!.append(stream, [{ type: 'First', data: {} }]);
    const id = randomUUID();
    const createdAt = new Date('2024-01-02T03:04:05.678Z');
    const result = await log!.append(
      stream,
      [{ id, type: 'Second', data: { a: [1, 'é'] }, metadata: { actor: 'x' }, createdAt }],
      { expectedVersion: 0n },
    );
    assert.is(result.nextExpectedVersion, 1n);
    const [first, second] = await log!.readStream(stream);
    assert.is(second!.id, id);
    assert.is(second!.type, 'Second');
    assert.is(second!.revision, 1n);
    assert.equal(second!.data, { a: [1, 'é'] });
    assert.equal(second!.metadata, { actor: 'x' });
    assert.is(second!.createdAt.toISOString(), createdAt.toISOString());
    assert.equal(second!.position, result.position);
    assert.ok(first!.createdAt.getTime() > createdAt.getTime());
  });

  test('an event id already in the log is a DuplicateEventError and writes nothing', async ({ log }) => {
    const id = randomUUID();
    await log!.append(`dup-${randomUUID()}`, [{ id, type: 'A', data: {} }]);
    const other = `dup-${randomUUID()}`;
    await log!.append(other, [{ type: 'B', data: {} }]);
    await rejects(log!.append(other, [{ id, type: 'C', data: {} }]), DuplicateEventError);
    assert.is(await log!.streamVersion(other), 0n);
    assert.equal(
      (await log!.readStream(other)).map((event) => event.type),
      ['B'],
    );
  });

  test('every expectation, held and not held', async ({ log }) => {
    const stream = `exp-${randomUUID()}`;
    await rejects(
      log!.append(stream, [{ type: 'A', data: {} }], { expectedVersion: 'stream_exists' }),
      WrongExpectedVersionError,
    );
    await rejects(log!.append(stream, [{ type: 'A', data: {} }], { expectedVersion: 0n }), WrongExpectedVersionError);
    assert.is(
      (await log!.append(stream, [{ type: 'A', data: {} }], { expectedVersion: 'no_stream' })).nextExpectedVersion,
      0n,
    );
    await rejects(
      log!.append(stream, [{ type: 'B', data: {} }], { expectedVersion: 'no_stream' }),
      WrongExpectedVersionError,
    );
    const stale = await rejects(
      log!.append(stream, [{ type: 'B', data: {} }], { expectedVersion: 5n }),
      WrongExpectedVersionError,
    );
    assert.is((stale as WrongExpectedVersionError).actual, 0n);
    assert.is((await log!.append(stream, [{ type: 'B', data: {} }], { expectedVersion: 0n })).nextExpectedVersion, 1n);
    assert.is(
      (await log!.append(stream, [{ type: 'C', data: {} }], { expectedVersion: 'stream_exists' })).nextExpectedVersion,
      2n,
    );
    assert.is((await log!.append(stream, [{ type: 'D', data: {} }])).nextExpectedVersion, 3n);
    assert.equal(
      (await log!.readStream(stream)).map((event) => [event.type, event.revision]),
      [
        ['A', 0n],
        ['B', 1n],
        ['C', 2n],
        ['D', 3n],
      ],
    );
  });

  test.run();
};

appendOne('PGlite: one-event append', embeddedDatabase);
if (serverUrl()) appendOne('PostgreSQL server: one-event append', serverDatabase);
else skipSuite('PostgreSQL server: one-event append', 'TEST_DATABASE_URL not set', 3);
