// NOTIFY carried inside an append (Notifier.inline) on a real server: it wakes other instances, keeps
// the Notifier's gap, and is sent only by an append that committed.
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type pg from 'pg';
import type { Database, Prepared, Row } from '../../db/database.ts';
import { DuplicateEventError, WrongExpectedVersionError } from '../../eventstore/port.ts';
import { PostgresEventLog, type Notifier } from '../../eventstore/postgres.ts';
import { serverDatabase, serverUrl, type TestDatabase } from '../support/databases.ts';
import { skipSuite } from '../support/skip.ts';

type Context = {
  database?: TestDatabase;
  /** Every statement the log under test sent: its text and when. */
  statements: { text: string; at: number }[];
  /** Payloads received on the event channel by a separate LISTEN connection. */
  payloads: string[];
  listener?: pg.PoolClient;
  log?: PostgresEventLog;
};

const notifierOf = (log: PostgresEventLog) => (log as unknown as { notifier: Notifier }).notifier;
const isNotify = (text: string) => /pg_notify|^NOTIFY /.test(text);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `attempt` fails with `kind` although its statement (its first) carried the NOTIFY, and no NOTIFY comes
 * of it: the listener still has `sent` payloads, and the Notifier counts as many.
 */
const refusedWithoutNotify = async (
  context: Context,
  attempt: () => Promise<unknown>,
  kind: new (...args: never[]) => Error,
  sent: number,
) => {
  const first = context.statements.length;
  try {
    await attempt();
    assert.unreachable('the append is refused');
  } catch (error) {
    assert.instance(error, kind);
  }
  assert.ok(/pg_notify/.test(context.statements[first]!.text));
  await sleep(50);
  assert.is(context.payloads.length, sent);
  assert.is(notifierOf(context.log!).sent, sent);
};

const test = suite<Context>('PostgreSQL server: NOTIFY carried by an append', { statements: [], payloads: [] });

test.before.each(async (context) => {
  const database = await serverDatabase();
  context.database = database;
  context.statements = [];
  context.payloads = [];
  const listener = await database.db.connect();
  listener.on('notification', (message) => context.payloads.push(message.payload ?? ''));
  await listener.query('LISTEN remotemcp_events');
  context.listener = listener;
  const counting: Database = {
    ...database.db,
    query: <R extends Row>(text: string | Prepared, params?: unknown[]) => {
      context.statements.push({ text: typeof text === 'string' ? text : text.text, at: performance.now() });
      return database.db.query<R>(text, params);
    },
  };
  context.log = new PostgresEventLog(counting, { pollMs: 10_000 });
});

test.after.each(async ({ database, listener, log }) => {
  await log?.close();
  listener?.release();
  await database?.dispose();
});

test("an idle log's appendMany carries its NOTIFY: another log's subscriber wakes at once", async (context) => {
  const { database, log } = context;
  const reader = new PostgresEventLog(database!.db, { pollMs: 10_000 });
  const tag = randomUUID();
  let received = 0;
  const subscription = reader.subscribeAll({
    onEvents: async (events) => {
      received += events.filter((event) => (event.data as { tag?: string }).tag === tag).length;
    },
  });
  try {
    // The reader's tail has caught up and listens (its first read and LISTEN are done).
    await sleep(300);
    const started = performance.now();
    await log!.appendMany([{ stream: `inline-${tag}`, events: [{ type: 'N', data: { tag } }] }]);
    while (received < 1 && performance.now() - started < 2_000) await sleep(5);
    assert.is(received, 1, 'the reader got the event well before its 10 s poll');
    // One statement: the append, with the NOTIFY inside it.
    assert.equal(
      context.statements.map(({ text }) => isNotify(text)),
      [true],
    );
    assert.is(notifierOf(log!).sent, 1);
    await sleep(50);
    assert.is(context.payloads.length, 1);
  } finally {
    await subscription.close();
    await reader.close();
  }
});

test('NOTIFYs carried by appends and sent alone start at least the gap apart; one follows the last append', async (context) => {
  const { log } = context;
  const tag = randomUUID();
  // Back-to-back commits of several streams (a group commit under load), with a concurrent plain append.
  let lastCommit = 0;
  const until = performance.now() + 150;
  let i = 0;
  while (performance.now() < until) {
    i += 1;
    await Promise.all([
      log!.appendMany(
        Array.from({ length: 4 }, (_, s) => ({ stream: `gap-${s}-${tag}`, events: [{ type: 'G', data: { i } }] })),
      ),
      log!.append(`gap-one-${tag}`, [{ type: 'G', data: { i } }]),
    ]);
    lastCommit = performance.now();
  }
  await sleep(50);
  const starts = context.statements.filter(({ text }) => isNotify(text)).map(({ at }) => at);
  const inline = context.statements.filter(({ text }) => /pg_notify/.test(text)).length;
  assert.ok(inline >= 1, 'some appends carried the NOTIFY');
  assert.ok(starts.length >= 3);
  // (Timers may fire up to a millisecond early: the loop's clock is cached.)
  for (let n = 1; n < starts.length; n += 1)
    assert.ok(starts[n]! - starts[n - 1]! >= 1, `gap ${n}: ${(starts[n]! - starts[n - 1]!).toFixed(2)} ms`);
  assert.ok(starts.length <= (lastCommit - starts[0]!) / 1 + 2, `${starts.length} NOTIFYs in ${i} rounds`);
  // The last append is followed by a NOTIFY: it carried one (delivered at its commit), or one started
  // after it; and every NOTIFY counted arrived.
  const appends = context.statements.filter(({ text }) => !/^NOTIFY /.test(text));
  assert.ok(starts[starts.length - 1]! >= appends[appends.length - 1]!.at);
  assert.is(notifierOf(log!).sent, starts.length);
  assert.is(context.payloads.length, starts.length);
});

test('an append that fails sends no NOTIFY; a later one still does', async (context) => {
  const { log } = context;
  const stream = `dup-${randomUUID()}`;
  const id = randomUUID();
  await log!.appendMany([{ stream, events: [{ id, type: 'D', data: {} }] }]);
  await sleep(20);
  assert.is(context.payloads.length, 1);
  // The gap has passed and nothing is in flight: the failing append carries the NOTIFY, and aborts it.
  await refusedWithoutNotify(
    context,
    () => log!.appendMany([{ stream, events: [{ id, type: 'D', data: {} }] }]),
    DuplicateEventError,
    1,
  );
  await log!.appendMany([{ stream, events: [{ type: 'D', data: {} }] }]);
  await sleep(50);
  assert.is(context.payloads.length, 2);
  assert.is(notifierOf(log!).sent, 2);
});

test('a one-event append carries the NOTIFY; one whose expectation fails writes nothing and sends none', async (context) => {
  const { log } = context;
  const stream = `one-${randomUUID()}`;
  await log!.append(stream, [{ type: 'O', data: {} }]);
  assert.equal(
    context.statements.map(({ text }) => isNotify(text)),
    [true],
  );
  await sleep(20);
  assert.is(context.payloads.length, 1);
  // It carries the NOTIFY, but its claim matches nothing (revision 0 is not 5): no row, so the NOTIFY is
  // never evaluated.
  await refusedWithoutNotify(
    context,
    () => log!.append(stream, [{ type: 'O', data: {} }], { expectedVersion: 5n }),
    WrongExpectedVersionError,
    1,
  );
  await log!.append(stream, [{ type: 'O', data: {} }], { expectedVersion: 0n });
  await sleep(50);
  assert.is(context.payloads.length, 2);
  assert.is(notifierOf(log!).sent, 2);
});

test('appendEach carries the NOTIFY; one refused for a duplicate id sends none', async (context) => {
  const { log } = context;
  const stream = `each-${randomUUID()}`;
  const id = randomUUID();
  const [result] = await log!.appendEach([
    { stream, expectedVersion: 'no_stream', events: [{ id, type: 'E', data: {} }] },
  ]);
  assert.is((result as { nextExpectedVersion: bigint }).nextExpectedVersion, 0n);
  assert.equal(
    context.statements.map(({ text }) => isNotify(text)),
    [true],
  );
  await sleep(20);
  assert.is(context.payloads.length, 1);
  await refusedWithoutNotify(
    context,
    () => log!.appendEach([{ stream, expectedVersion: 'any', events: [{ id, type: 'E', data: {} }] }]),
    DuplicateEventError,
    1,
  );
});

test("an append carrying the NOTIFY while it waits on a row lock does not hold back another commit's", async (context) => {
  const { database, log } = context;
  const held = `held-${randomUUID()}`;
  await log!.append(held, [{ type: 'H', data: {} }]);
  await sleep(20);
  assert.is(context.payloads.length, 1);
  const locker = await database!.db.connect();
  try {
    await locker.query('BEGIN');
    await locker.query('SELECT version FROM event_streams WHERE stream_id = $1 FOR UPDATE', [held]);
    // The gap has passed: this append carries the NOTIFY, and waits for the row.
    const waiting = log!.appendMany([{ stream: held, events: [{ type: 'H', data: {} }] }]);
    await sleep(20);
    await log!.appendMany([{ stream: `free-${randomUUID()}`, events: [{ type: 'F', data: {} }] }]);
    await sleep(100);
    assert.is(context.payloads.length, 2, "the free commit's NOTIFY went out while the other append waited");
    await locker.query('COMMIT');
    await waiting;
    await sleep(50);
    assert.is(context.payloads.length, 3);
    assert.is(notifierOf(log!).sent, 3);
  } finally {
    await locker.query('ROLLBACK').catch(() => undefined);
    locker.release();
  }
});

if (serverUrl()) test.run();
else skipSuite('PostgreSQL server: NOTIFY carried by an append', 'TEST_DATABASE_URL not set', 6);
