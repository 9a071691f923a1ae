// Forms with U+0000 (the one character PostgreSQL cannot store that a form can carry: a lone surrogate
// does not survive percent-decoding), over real HTTP on PGlite and on a PostgreSQL server: 400 before
// anything is looked up or written, never a 500.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AdminClient } from './admin/client.ts';
import { serverUrl } from '../support/databases.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { skipSuite } from '../support/skip.ts';

const formsSuite = (name: string, database: 'embedded' | 'server') => {
  const test = suite<{ server: TestServer }>(`http: forms with U+0000 on ${name}`);
  test.before(async (context) => {
    context.server = await startTestServer({}, database === 'embedded' ? { database: 'embedded' } : {});
  });
  test.after(async ({ server }) => server.stop());

  const eventCount = async (server: TestServer): Promise<number> => {
    await server.services.groupCommit.flush();
    return (await server.services.log.readAll({ maxCount: 100_000 })).length;
  };

  test('admin sign-in with U+0000 in the email → 400, no event (no failed-sign-in record either)', async ({
    server,
  }) => {
    const before = await eventCount(server);
    const client = new AdminClient(server.base);
    const reply = await client.post(
      '/admin/login',
      { email: `${server.adminEmail}\0`, password: 'wrong-password', csrf: await client.csrf() },
      { accept: 'application/json' },
    );
    assert.is(reply.status, 400);
    assert.equal(JSON.parse(reply.text).code, 'invalid_request');
    assert.is(JSON.parse(reply.text).detail, 'email: holds U+0000 or an unpaired surrogate');
    assert.is(await eventCount(server), before);
  });

  test('a signed-in admin creating a user named with U+0000 → 400, no UserCreated', async ({ server }) => {
    const client = new AdminClient(server.base);
    assert.is((await client.login(server.adminEmail, server.adminPassword)).status, 303);
    const before = await eventCount(server);
    const reply = await client.post(
      '/admin/users',
      {
        email: 'nul@example.test',
        name: 'Nul\0Name',
        password: 'long-enough-1',
        csrf: await client.csrf('/admin/users'),
      },
      { accept: 'application/json' },
    );
    assert.is(reply.status, 400);
    assert.is(JSON.parse(reply.text).code, 'invalid_request');
    assert.is(await eventCount(server), before);
    assert.is(await server.services.users.byEmail('nul@example.test'), undefined);
  });

  test('the token endpoint with U+0000 in a field → 400 invalid_request (RFC 6749 §5.2)', async ({ server }) => {
    const response = await fetch(`${server.base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x\0', client_id: 'c' }).toString(),
    });
    assert.is(response.status, 400);
    assert.equal(await response.json(), {
      error: 'invalid_request',
      error_description: 'refresh_token: holds U+0000 or an unpaired surrogate',
    });
  });

  return test;
};

formsSuite('PGlite', 'embedded').run();
if (serverUrl()) formsSuite('a PostgreSQL server', 'server').run();
else skipSuite('http: forms with U+0000 on a PostgreSQL server', 'TEST_DATABASE_URL not set', 3);
