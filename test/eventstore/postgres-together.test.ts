// Appends made while another is on its way go out together (one appendEach), each with its own outcome,
// on both databases. The statements the log sends are counted through a wrapper of its database.
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Database, Prepared } from '../../db/database.ts';
import { DuplicateEventError, WrongExpectedVersionError, type AppendResult } from '../../eventstore/port.ts';
import { PostgresEventLog } from '../../eventstore/postgres.ts';
import { embeddedDatabase, serverDatabase, serverUrl, type TestDatabase } from '../support/databases.ts';
import { skipSuite } from '../support/skip.ts';

type Sent = { alone: number; together: number };

/** The database with its queries sorted: a one-stream append, or an appendEach (its JSON input). */
const counting = (db: Database, sent: Sent): Database =>
  new Proxy(db, {
    get(target, property, receiver) {
      if (property !== 'query') return Reflect.get(target, property, receiver);
      return (text: string | Prepared, params?: unknown[]) => {
        const sql = typeof text === 'string' ? text : text.text;
        if (/^WITH input AS \(\s*SELECT s\.idx, s\.value->>'stream' AS stream_id, s\.value->>'expected'/.test(sql))
          sent.together += 1;
        else if (/INSERT INTO events/.test(sql)) sent.alone += 1;
        return target.query(text as string, params);
      };
    },
  });

const outcome = (promise: Promise<AppendResult>) =>
  promise.then(
    (result) => result,
    (error: unknown) => error as Error,
  );

const together = (name: string, open: () => Promise<TestDatabase>) => {
  const test = suite<{ database?: TestDatabase; log?: PostgresEventLog; sent: Sent }>(name, {
    sent: { alone: 0, together: 0 },
  });
  test.before(async (context) => {
    context.database = await open();
    context.log = new PostgresEventLog(counting(context.database.db, context.sent), { pollMs: 100 });
  });
  test.after(async ({ database, log }) => {
    await log?.close();
    await database?.dispose();
  });
  test.before.each(({ sent }) => {
    sent.alone = 0;
    sent.together = 0;
  });

  test('8 appends at once: the first alone, the other 7 in one statement, each at its revision', async ({
    log,
    sent,
  }) => {
    const streams = Array.from({ length: 8 }, () => `at-once-${randomUUID()}`);
    await log!.append(streams[3]!, [{ type: 'Before', data: {} }]);
    sent.alone = 0;
    const results = await Promise.all(
      streams.map((stream, i) =>
        log!.append(stream, [{ type: 'A', data: { i } }], { expectedVersion: i === 3 ? 0n : 'no_stream' }),
      ),
    );
    assert.equal(sent, { alone: 1, together: 1 });
    assert.equal(
      results.map((result) => result.nextExpectedVersion),
      [0n, 0n, 0n, 1n, 0n, 0n, 0n, 0n],
    );
    for (const [i, stream] of streams.entries()) {
      const events = await log!.readStream(stream);
      assert.equal(events.at(-1)!.data, { i });
      assert.equal(events.at(-1)!.position, results[i]!.position);
    }
  });

  test('a stale expectation among them fails alone; the others are written', async ({ log }) => {
    const stale = `stale-${randomUUID()}`;
    await log!.append(stale, [{ type: 'First', data: {} }]);
    const others = [`ok-${randomUUID()}`, `ok-${randomUUID()}`];
    const [lead, wrong, ...fine] = await Promise.all([
      outcome(log!.append(`lead-${randomUUID()}`, [{ type: 'Lead', data: {} }])),
      outcome(log!.append(stale, [{ type: 'Late', data: {} }], { expectedVersion: 'no_stream' })),
      ...others.map((stream) => outcome(log!.append(stream, [{ type: 'Fine', data: {} }]))),
    ]);
    assert.not.instance(lead, Error);
    assert.instance(wrong, WrongExpectedVersionError);
    assert.is((wrong as WrongExpectedVersionError).actual, 0n);
    for (const result of fine) assert.not.instance(result, Error);
    assert.equal(
      (await log!.readStream(stale)).map((event) => event.type),
      ['First'],
    );
    for (const stream of others) assert.is(await log!.streamVersion(stream), 0n);
  });

  test('a duplicate event id among them fails alone; the others are written', async ({ log }) => {
    const id = randomUUID();
    await log!.append(`has-id-${randomUUID()}`, [{ id, type: 'Original', data: {} }]);
    const copy = `copy-${randomUUID()}`;
    const others = [`ok-${randomUUID()}`, `ok-${randomUUID()}`];
    const [lead, duplicate, ...fine] = await Promise.all([
      outcome(log!.append(`lead-${randomUUID()}`, [{ type: 'Lead', data: {} }])),
      outcome(log!.append(copy, [{ id, type: 'Copy', data: {} }])),
      ...others.map((stream) => outcome(log!.append(stream, [{ type: 'Fine', data: {} }]))),
    ]);
    assert.not.instance(lead, Error);
    assert.instance(duplicate, DuplicateEventError);
    for (const result of fine) assert.not.instance(result, Error);
    assert.is(await log!.streamVersion(copy), undefined);
    for (const stream of others) assert.is(await log!.streamVersion(stream), 0n);
  });

  test('two at once on one stream keep the order they were made in', async ({ log }) => {
    const stream = `order-${randomUUID()}`;
    await Promise.all([
      log!.append(`lead-${randomUUID()}`, [{ type: 'Lead', data: {} }]),
      log!.append(stream, [{ type: 'One', data: {} }]),
      log!.append(stream, [{ type: 'Two', data: {} }]),
      log!.append(stream, [{ type: 'Three', data: {} }]),
    ]);
    assert.equal(
      (await log!.readStream(stream)).map((event) => event.type),
      ['One', 'Two', 'Three'],
    );
  });

  test('an append with a given time goes alone and keeps it', async ({ log, sent }) => {
    const createdAt = new Date('2024-05-06T07:08:09.000Z');
    const stream = `timed-${randomUUID()}`;
    await Promise.all([
      log!.append(`lead-${randomUUID()}`, [{ type: 'Lead', data: {} }]),
      log!.append(stream, [{ type: 'Timed', data: {}, createdAt }]),
    ]);
    assert.equal(sent, { alone: 2, together: 0 });
    assert.is((await log!.readStream(stream))[0]!.createdAt.toISOString(), createdAt.toISOString());
  });

  test('a lone append waits for nothing: one statement of its own', async ({ log, sent }) => {
    await log!.append(`lone-${randomUUID()}`, [{ type: 'A', data: {} }]);
    await log!.append(`lone-${randomUUID()}`, [{ type: 'B', data: {} }]);
    assert.equal(sent, { alone: 2, together: 0 });
  });

  return test;
};

together('postgres appends together (PGlite)', embeddedDatabase).run();
if (serverUrl()) together('postgres appends together (server)', serverDatabase).run();
else skipSuite('postgres appends together (server)', 'TEST_DATABASE_URL is not set');
