// The event-log ServerEventBus: two instances (two pools, two logs) on one PostgreSQL database. A change
// made through A (an admin's tool switch, a published event) reaches listeners on B; revoking a grant or
// one token closes exactly the listen streams opened with it, on every instance.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { handleCommand } from '../../../app/handle.ts';
import { createLogger } from '../../../app/logger.ts';
import { openDatabase, type Database } from '../../../db/database.ts';
import { migrate } from '../../../db/migrate.ts';
import { grantStream } from '../../../domain/grants/index.ts';
import { SYSTEM } from '../../../domain/shared.ts';
import { toolSettingDecider, toolStream } from '../../../domain/tools/index.ts';
import { PostgresEventLog } from '../../../eventstore/postgres.ts';
import { EventLogBus, type ServerEvent } from '../../../mcp/modern/event-bus.ts';
import { createServerDatabase, serverUrl } from '../../support/databases.ts';
import { skipSuite } from '../../support/skip.ts';

type Instance = { db: Database; log: PostgresEventLog; bus: EventLogBus };
type Context = { a: Instance; b: Instance; drop: () => Promise<void> };
const test = suite<Context>('mcp modern: event-log ServerEventBus across instances');
const CASES = 4;

const instance = async (url: string): Promise<Instance> => {
  const db = await openDatabase({ kind: 'server', url, max: 4 });
  await migrate(db);
  const log = new PostgresEventLog(db, { pollMs: 50 });
  const bus = new EventLogBus(log, createLogger('silent'));
  await bus.start();
  return { db, log, bus };
};

/** Resolves with the first event `bus` delivers that `accept` takes. */
const next = (bus: EventLogBus, accept: (event: ServerEvent) => boolean = () => true) =>
  new Promise<ServerEvent>((resolve) => {
    const stop = bus.subscribe((event) => {
      if (!accept(event)) return;
      stop();
      resolve(event);
    });
  });

const GRANT_A = '11111111-1111-4111-8111-111111111111';
const GRANT_B = '22222222-2222-4222-8222-222222222222';

if (!serverUrl()) {
  skipSuite('mcp modern: event-log ServerEventBus across instances', 'TEST_DATABASE_URL not set', CASES);
} else {
  test.before(async (context) => {
    const database = await createServerDatabase();
    context.drop = database.drop;
    context.a = await instance(database.url);
    context.b = await instance(database.url);
  });
  test.after(async ({ a, b, drop }) => {
    for (const { bus, log, db } of [a, b]) {
      await bus.close();
      await log.close();
      await db.close();
    }
    await drop();
  });

  test('an admin disabling a tool through A: B delivers tools_list_changed to its listeners', async ({ a, b }) => {
    const onB = next(b.bus);
    const onA = next(a.bus);
    await handleCommand(
      a.log,
      toolStream('fs_write_file'),
      toolSettingDecider,
      { type: 'DisableTool', name: 'fs_write_file', known: true, now: new Date() },
      { actor: SYSTEM },
    );
    assert.equal(await onB, { kind: 'tools_list_changed' });
    assert.equal(await onA, { kind: 'tools_list_changed' });
  });

  test('publish on A: delivered once on A and once on B (through the log, not twice locally)', async ({ a, b }) => {
    const seenA: ServerEvent[] = [];
    const seenB: ServerEvent[] = [];
    const stopA = a.bus.subscribe((event) => seenA.push(event));
    const stopB = b.bus.subscribe((event) => seenB.push(event));
    const lastOnA = next(a.bus, (event) => event.kind === 'prompts_list_changed');
    const lastOnB = next(b.bus, (event) => event.kind === 'prompts_list_changed');
    a.bus.publish({ kind: 'resource_updated', uri: 'test://static-text' });
    a.bus.publish({ kind: 'prompts_list_changed' });
    await Promise.all([lastOnA, lastOnB]);
    stopA();
    stopB();
    assert.equal(seenB, [{ kind: 'resource_updated', uri: 'test://static-text' }, { kind: 'prompts_list_changed' }]);
    assert.equal(seenA, seenB);
  });

  test('revoking a grant through A closes its listen streams on B, and only those', async ({ a, b }) => {
    const closed: string[] = [];
    b.bus.trackListen({ grantId: GRANT_A, tokenId: `${GRANT_A}.t1`, userId: 'u', clientId: 'c' }, () =>
      closed.push('a1'),
    );
    b.bus.trackListen({ grantId: GRANT_A, tokenId: `${GRANT_A}.t2`, userId: 'u', clientId: 'c' }, () =>
      closed.push('a2'),
    );
    const releaseB = b.bus.trackListen({ grantId: GRANT_B, tokenId: `${GRANT_B}.t1`, userId: 'u', clientId: 'c' }, () =>
      closed.push('b1'),
    );
    assert.equal(
      [...b.bus.openListens()],
      [
        [GRANT_A, 2],
        [GRANT_B, 1],
      ],
    );
    const heard = next(b.bus, (event) => event.kind === 'resources_list_changed');
    await a.log.append(grantStream(GRANT_A), [
      { type: 'GrantRevoked', data: { grantId: GRANT_A, reason: 'revoked', at: new Date().toISOString() } },
    ]);
    // A later marker: once B delivers it, B has read the revocation before it.
    a.bus.publish({ kind: 'resources_list_changed' });
    await heard;
    assert.equal(closed.sort(), ['a1', 'a2']);
    assert.equal([...b.bus.openListens()], [[GRANT_B, 1]]);
    releaseB();
    assert.equal([...b.bus.openListens()], []);
  });

  test('revoking one access token closes the streams opened with that token only', async ({ a, b }) => {
    const closed: string[] = [];
    b.bus.trackListen({ grantId: GRANT_B, tokenId: `${GRANT_B}.t1`, userId: 'u', clientId: 'c' }, () =>
      closed.push('t1'),
    );
    b.bus.trackListen({ grantId: GRANT_B, tokenId: `${GRANT_B}.t2`, userId: 'u', clientId: 'c' }, () =>
      closed.push('t2'),
    );
    const heard = next(b.bus, (event) => event.kind === 'resources_list_changed');
    await a.log.append(grantStream(GRANT_B), [
      {
        type: 'AccessTokenRevoked',
        data: { grantId: GRANT_B, accessTokenId: `${GRANT_B}.t1`, at: new Date().toISOString() },
      },
    ]);
    a.bus.publish({ kind: 'resources_list_changed' });
    await heard;
    assert.equal(closed, ['t1']);
    assert.equal([...b.bus.openListens()], [[GRANT_B, 1]]);
  });

  test.run();
}
