// Two instances on one PostgreSQL server: a token revoked (a client deleted) through one is refused by the
// other within 1 s; both publish the same signing keys (they live in the event log). Needs TEST_DATABASE_URL.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServerDatabase, serverUrl } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { skipSuite } from '../../support/skip.ts';
import { basic, freshTokens, reasonOf, tokenRequest } from './support.ts';
import { CLIENT_CACHE_MS } from '../../../app/oauth/clients.ts';
import { MCP_READ } from '../../../domain/scopes.ts';

const NAME = 'oauth: several instances';

if (!serverUrl()) {
  skipSuite(NAME, 'TEST_DATABASE_URL not set', 3);
} else {
  const test = suite<{ a: TestServer; b: TestServer; drop: () => Promise<void> }>(NAME);
  test.before(async (context) => {
    const database = await createServerDatabase();
    context.drop = database.drop;
    const shared = { url: database.url, drop: async () => undefined };
    context.a = await startTestServer({}, { database: shared });
    // Same PUBLIC_URL: both are the same issuer behind a load balancer.
    context.b = await startTestServer(
      { PUBLIC_URL: context.a.base, ADMIN_PASSWORD: context.a.adminPassword },
      { database: shared },
    );
  });
  test.after(async ({ a, b, drop }) => {
    await b.stop();
    await a.stop();
    await drop();
  });

  test('both instances publish the same JWKS', async ({ a, b }) => {
    await freshTokens(a);
    const jwksA = await a.services.oauth.keys.jwks();
    const jwksB = await b.services.oauth.keys.jwks();
    assert.equal(jwksA, jwksB);
  });

  test('revoked through instance A → refused by instance B within 1 s', async ({ a, b }) => {
    const { client, tokens } = await freshTokens(a);
    const resource = `${a.base}/mcp`;
    assert.ok(await b.services.oauth.verifier.verify(tokens.access_token, resource));
    const revoked = await fetch(`${a.base}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.access_token, client_id: client.client_id }),
    });
    assert.is(revoked.status, 200);
    const started = Date.now();
    let reason: string | undefined;
    while (Date.now() - started < 1_000 && reason === undefined) {
      reason = await reasonOf(b.services.oauth.verifier.verify(tokens.access_token, resource));
      if (reason === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.is(reason, 'revoked');
  });

  test('a client deleted through instance A → its credentials are refused by instance B within 1 s', async ({
    a,
    b,
  }) => {
    const created = await a.services.oauth.createMachineClient(
      { name: 'two-instances', userEmail: 'two-instances@example.com', scopes: [MCP_READ] },
      { type: 'system', id: 'test' },
    );
    const authorization = basic(created.client.clientId, created.clientSecret!);
    const request = () =>
      tokenRequest(b.base, { grant_type: 'client_credentials', scope: MCP_READ }, { authorization });
    // B has read the client and keeps it (app/oauth/clients.ts CLIENT_CACHE_MS).
    assert.is((await request()).status, 200);
    assert.is(await a.services.oauth.clients.delete(created.client.clientId, { type: 'system', id: 'test' }), true);
    await new Promise((resolve) => setTimeout(resolve, CLIENT_CACHE_MS));
    const refused = await request();
    assert.is(refused.status, 401);
    assert.is(refused.body.error, 'invalid_client');
  });

  test.run();
}
