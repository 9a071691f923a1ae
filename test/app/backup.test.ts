// events export → import into an empty store: the same streams (ids, revisions, times, data) and,
// after the projections run, the same read models. Re-importing changes nothing.
import { PassThrough } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { exportEvents, importEvents, ImportLineError } from '../../app/backup.ts';
import { createLogger } from '../../app/logger.ts';
import { Users } from '../../app/users.ts';
import { SYSTEM } from '../../domain/shared.ts';
import { comparePositions } from '../../eventstore/port.ts';
import { PostgresEventLog } from '../../eventstore/postgres.ts';
import { allProjections } from '../../projections/index.ts';
import { ProjectionRunner } from '../../projections/runner.ts';
import { anyDatabase, type TestDatabase } from '../support/databases.ts';

const logger = createLogger('silent');
type Store = { database: TestDatabase; log: PostgresEventLog; runner: ProjectionRunner; users: Users };
const open = async (): Promise<Store> => {
  const database = await anyDatabase();
  const log = new PostgresEventLog(database.db, { pollMs: 50 });
  const runner = new ProjectionRunner(database.db, log, allProjections, logger);
  await runner.start();
  return { database, log, runner, users: new Users(log, database.db, runner) };
};
const close = async (store: Store) => {
  await store.runner.stop();
  await store.log.close();
  await store.database.dispose();
};
const exported = async (store: Store) => {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  const count = await exportEvents(store.log, out);
  out.end();
  return { count, text: Buffer.concat(chunks).toString() };
};
const usersTable = async (store: Store) =>
  (
    await store.database.db.query(
      'SELECT id, email, name, password_hash, roles, status, created_at, updated_at, revision FROM users ORDER BY email',
    )
  ).rows;

const test = suite('app: events export / import');

test('round trip into an empty store: same streams, same read model; re-import is a no-op', async () => {
  const source = await open();
  const target = await open();
  try {
    await source.users.create({ email: 'a@example.com', password: 'password-a', roles: ['admin', 'user'] }, SYSTEM);
    await source.users.create({ email: 'b@example.com', password: 'password-b' }, SYSTEM);
    await source.users.disable('b@example.com', SYSTEM);
    await source.users.changePassword('a@example.com', 'password-a2', SYSTEM);
    let first = await exported(source);
    // (A transaction running elsewhere on the server can hold new events back for a moment.)
    for (let i = 0; i < 100 && first.count < 4; i += 1) first = await exported(source);
    assert.is(first.count, 4);
    const result = await importEvents(target.log, PassThrough.from([first.text]));
    assert.equal(result, { imported: 4, skipped: 0, streams: 2 });
    // The imported events' own positions (headPosition stops below any transaction still open on the
    // server, so it may lag behind what was just appended).
    const positions = (
      await Promise.all(
        [
          ...new Set(
            first.text
              .trim()
              .split('\n')
              .map((line) => (JSON.parse(line) as { stream?: string }).stream)
              .filter((stream): stream is string => stream !== undefined),
          ),
        ].map((stream) => target.log.readStream(stream)),
      )
    )
      .flat()
      .map((event) => event.position);
    await target.runner.waitFor(positions.reduce((a, b) => (comparePositions(a, b) >= 0 ? a : b)));
    assert.equal(await usersTable(target), await usersTable(source));
    // The exported events are identical (ids, revisions, data, times); positions may differ.
    let copy = await exported(target);
    for (let i = 0; i < 100 && copy.count < 4; i += 1) copy = await exported(target);
    assert.is(copy.text, first.text);
    const again = await importEvents(target.log, PassThrough.from([first.text]));
    assert.equal(again, { imported: 0, skipped: 4, streams: 2 });
    assert.ok(await target.users.authenticate('a@example.com', 'password-a2'));
  } finally {
    await close(source);
    await close(target);
  }
});

test('a bad line stops the import with its line number; nothing after it is appended', async () => {
  const store = await open();
  try {
    const good = JSON.stringify({
      id: '00000000-0000-4000-8000-000000000001',
      stream: 's-1',
      revision: 0,
      type: 'X',
      data: {},
      metadata: {},
      createdAt: new Date().toISOString(),
    });
    const input = PassThrough.from([`${good}\n{"id":"not-a-uuid"}\n`]);
    try {
      await importEvents(store.log, input);
      assert.unreachable('import should fail');
    } catch (error) {
      assert.instance(error, ImportLineError);
      assert.is((error as ImportLineError).lineNumber, 2);
    }
    assert.is((await store.log.readAll()).length, 0, 'the batch before the bad line was not flushed yet');
  } finally {
    await close(store);
  }
});

test.run();
