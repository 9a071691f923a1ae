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

  test('connection drop and return: /readyz 503 while down, then 200; commands work again without a restart', async ({ server, proxy }) => {
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

  test('an append the database refuses (read-only, like a full disk) fails and appends nothing', async ({ server }) => {
    const { db, log } = server.services;
    const before = (await db.query<{ count: string }>('SELECT count(*)::text AS count FROM events')).rows[0]!.count;
    await db.query(`ALTER DATABASE ${new URL(db.url).pathname.slice(1)} SET default_transaction_read_only = on`);
    // New sessions pick the setting up: drop pooled connections.
    await db.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    try {
      let failure: unknown;
      for (let attempt = 0; attempt < 5 && !failure; attempt += 1) {
        try {
          await log.append('fault-test', [{ type: 'A', data: {} }, { type: 'B', data: {} }]);
          failure = undefined;
          break;
        } catch (error) {
          if (/read-only/.test((error as Error).message)) failure = error;
        }
      }
      assert.ok(failure, 'the append failed with the database error');
      assert.match((failure as Error).message, /read-only transaction/);
    } finally {
      await db.query('SET default_transaction_read_only = off');
      await db.query(`ALTER DATABASE ${new URL(db.url).pathname.slice(1)} RESET default_transaction_read_only`);
      await db.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    }
    const after = (await db.query<{ count: string }>('SELECT count(*)::text AS count FROM events')).rows[0]!.count;
    assert.is(after, before);
    assert.equal(await log.readStream('fault-test'), []);
  });

  test.run();
}
