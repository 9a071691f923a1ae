// Faults on the database (PostgreSQL server only): the connection drops and returns (the server
// recovers without a restart and /readyz says so meanwhile); an append the database refuses returns
// an error and appends nothing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SYSTEM } from '../../domain/shared.ts';
import { createServerDatabase, serverUrl } from '../support/databases.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { skipSuite } from '../support/skip.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

if (!serverUrl()) skipSuite('faults: database', 'TEST_DATABASE_URL not set', 2);
else {
  type Ctx = { server: TestServer; proxy: TcpProxy; drop(): Promise<void> };
  const test = suite<Ctx>('faults: database');
  test.before(async (context) => {
    const created = await createServerDatabase();
    const real = new URL(created.url);
    context.proxy = await startTcpProxy(real.hostname, Number(real.port || 5432));
    const viaProxy = new URL(created.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(context.proxy.port);
    context.server = await startTestServer({}, { database: { url: viaProxy.toString(), drop: async () => undefined } });
    context.drop = created.drop;
  });
  test.after(async ({ server, proxy, drop }) => {
    proxy.restore();
    await server.stop();
    await proxy.close();
    await drop();
  });

  const readyz = async (server: TestServer) => {
    const response = await fetch(`${server.base}/readyz`);
    return { status: response.status, body: (await response.json()) as { checks: Record<string, string> } };
  };
  const until = async (check: () => Promise<boolean>, ms = 15_000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  test('connection drop and return: /readyz 503 while down, then 200; commands work again without a restart', async ({
    server,
    proxy,
  }) => {
    assert.is((await readyz(server)).status, 200);
    proxy.cut();
    const down = await readyz(server);
    assert.is(down.status, 503);
    assert.match(down.body.checks.database ?? '', /^unreachable/);
    assert.is((await fetch(`${server.base}/healthz`)).status, 200, 'liveness does not depend on the database');
    proxy.restore();
    await until(async () => (await readyz(server)).status === 200);
    await server.services.users.create({ email: 'after-outage@example.com', password: 'password-123' }, SYSTEM);
    assert.ok(await server.services.users.byEmail('after-outage@example.com'), 'the projection runner recovered too');
  });

  test('an append failing like a full disk (SQLSTATE 53100 on its second event) errors and appends nothing', async ({
    server,
  }) => {
    const { db, log } = server.services;
    const before = (await db.query<{ count: string }>('SELECT count(*)::text AS count FROM events')).rows[0]!.count;
    // A trigger stands in for the disk: it fails the second row of the batch with the real disk_full code.
    await db.query(`CREATE FUNCTION fail_like_full_disk() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.stream_id = 'fault-test' AND NEW.event_type = 'B' THEN
          RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full';
        END IF;
        RETURN NEW;
      END $$`);
    await db.query(
      'CREATE TRIGGER fail_like_full_disk BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION fail_like_full_disk()',
    );
    try {
      await log.append('fault-test', [
        { type: 'A', data: {} },
        { type: 'B', data: {} },
      ]);
      assert.unreachable('the append should fail');
    } catch (error) {
      assert.is((error as { code?: string }).code, '53100');
    } finally {
      await db.query('DROP TRIGGER fail_like_full_disk ON events');
      await db.query('DROP FUNCTION fail_like_full_disk()');
    }
    const after = (await db.query<{ count: string }>('SELECT count(*)::text AS count FROM events')).rows[0]!.count;
    assert.is(after, before, 'not even the first event of the batch');
    assert.equal(await log.readStream('fault-test'), []);
    assert.is(await log.streamVersion('fault-test'), undefined, 'the stream version did not move either');
    // And the store still works.
    await log.append('fault-test', [{ type: 'A', data: {} }], { expectedVersion: 'no_stream' });
  });

  test.run();
}
