// Dynamic registration (RFC 7591) with text PostgreSQL cannot store (U+0000, unpaired surrogates), over
// real HTTP on embedded PGlite and on a PostgreSQL server: a 400 with the RFC 7591 §3.2.2 code and no
// client registered, never a 500.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { serverUrl } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { skipSuite } from '../../support/skip.ts';

const registrationSuite = (name: string, database: 'embedded' | 'server') => {
  const test = suite<{ server: TestServer }>(`oauth: registration with unstorable text on ${name}`);
  test.before(async (context) => {
    context.server = await startTestServer({}, database === 'embedded' ? { database: 'embedded' } : {});
  });
  test.after(async ({ server }) => server.stop());

  const register = async (server: TestServer, metadata: Record<string, unknown>) => {
    // JSON.stringify writes U+0000 as \u0000 and a lone surrogate as \udXXX: valid JSON (RFC 8259 §7).
    const response = await fetch(`${server.base}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['https://claude.ai/api/mcp/auth_callback'], ...metadata }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const registered = async (server: TestServer) =>
    (await server.services.log.readAll({ maxCount: 100_000 })).filter((event) => event.type === 'ClientRegistered')
      .length;

  test('client_name with U+0000 or a lone surrogate → 400 invalid_client_metadata, nothing registered', async ({
    server,
  }) => {
    const before = await registered(server);
    for (const clientName of ['Evil\0Client', 'Evil \uD800', '\uDC00 Evil']) {
      const { status, body } = await register(server, { client_name: clientName, token_endpoint_auth_method: 'none' });
      assert.is(status, 400, clientName);
      assert.equal(body, {
        error: 'invalid_client_metadata',
        error_description: 'client_name: holds U+0000 or an unpaired surrogate',
      });
    }
    assert.is(await registered(server), before);
  });

  test('a redirect URI with U+0000 → 400 invalid_redirect_uri; a valid surrogate pair is stored as sent', async ({
    server,
  }) => {
    const before = await registered(server);
    const bad = await register(server, {
      redirect_uris: ['https://claude.ai/api/mcp/auth_callback\0'],
      token_endpoint_auth_method: 'none',
    });
    assert.is(bad.status, 400);
    assert.is(bad.body.error, 'invalid_redirect_uri');
    assert.is(await registered(server), before);
    const good = await register(server, { client_name: 'Smile \uD83D\uDE00', token_endpoint_auth_method: 'none' });
    assert.is(good.status, 201);
    assert.is(good.body.client_name, 'Smile \uD83D\uDE00');
    assert.is(await registered(server), before + 1);
  });

  return test;
};

registrationSuite('PGlite', 'embedded').run();
if (serverUrl()) registrationSuite('a PostgreSQL server', 'server').run();
else skipSuite('oauth: registration with unstorable text on a PostgreSQL server', 'TEST_DATABASE_URL not set', 2);
