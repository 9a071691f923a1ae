// subscriptions/listen across instances, with the v2 SDK client speaking 2026-07-28 and a real OAuth
// token: a stream on B hears of a tool an admin switched off on A, and revoking the grant on A cuts
// the stream on B (the token is refused afterwards). Needs TEST_DATABASE_URL (two servers, one database).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { SYSTEM } from '../../../domain/shared.ts';
import { grantIdOfTokenId } from '../../../app/oauth/tokens.ts';
import { freshTokens } from '../../http/oauth/support.ts';
import { createServerDatabase, serverUrl } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { skipSuite } from '../../support/skip.ts';

type Context = { a: TestServer; b: TestServer; drop: () => Promise<void> };
const test = suite<Context>('mcp modern: subscriptions/listen on two instances');
const CASES = 2;

const connect = async (server: TestServer, token: string): Promise<Client> => {
  const client = new Client(
    { name: 'listen-e2e', version: '1' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return client;
};

const jtiOf = (jwt: string): string =>
  (JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;

if (!serverUrl()) {
  skipSuite('mcp modern: subscriptions/listen on two instances', 'TEST_DATABASE_URL not set', CASES);
} else {
  test.before(async (context) => {
    const database = await createServerDatabase();
    context.drop = database.drop;
    context.a = await startTestServer({}, { database });
    context.b = await startTestServer({ PUBLIC_URL: context.a.base }, { database });
  });
  test.after(async ({ a, b, drop }) => {
    await b.stop();
    await a.stop();
    await drop();
  });

  test('a listen stream on B receives tools/list_changed after an admin disables a tool on A', async ({ a, b }) => {
    const { tokens } = await freshTokens(a, { scope: 'mcp:tools:read mcp:tools:write' });
    const client = await connect(b, tokens.access_token);
    const changed = new Promise<string>((resolve) =>
      client.setNotificationHandler('notifications/tools/list_changed', (notification) => resolve(notification.method)),
    );
    const subscription = await client.listen({ toolsListChanged: true });
    assert.equal(subscription.honoredFilter, { toolsListChanged: true });
    const before = (await client.listTools()).tools.map((tool) => tool.name);
    assert.ok(before.includes('fs_write_file'));
    assert.ok(await a.services.tools.setEnabled('fs_write_file', false, SYSTEM));
    assert.is(await changed, 'notifications/tools/list_changed');
    const after = (await client.listTools()).tools.map((tool) => tool.name);
    assert.equal(
      after,
      before.filter((name) => name !== 'fs_write_file'),
    );
    await subscription.close();
    assert.is(await subscription.closed, 'local');
    await client.close();
    await a.services.tools.setEnabled('fs_write_file', true, SYSTEM);
  });

  test('revoking the grant on A cuts its listen stream on B; the token is refused afterwards', async ({ a, b }) => {
    const { tokens } = await freshTokens(a, { scope: 'mcp:tools:read' });
    const grantId = grantIdOfTokenId(jtiOf(tokens.access_token))!;
    assert.type(grantId, 'string');
    const client = await connect(b, tokens.access_token);
    const subscription = await client.listen({ toolsListChanged: true });
    assert.equal(
      [...b.services.mcp.bus.openListens()].find(([grant]) => grant === grantId),
      [grantId, 1],
    );
    assert.ok(await a.services.oauth.revokeGrant(grantId, SYSTEM));
    assert.is(await subscription.closed, 'remote');
    assert.is(b.services.mcp.bus.openListens().get(grantId), undefined);
    // Every instance refuses a revoked token within its cache time plus the read model's lag.
    const status = async () =>
      (
        await fetch(`${b.url}/mcp`, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${tokens.access_token}`,
            'Content-Type': 'application/json',
            Accept: 'application/json, text/event-stream',
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
        })
      ).status;
    let refused = await status();
    for (let attempt = 0; refused !== 401 && attempt < 50; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      refused = await status();
    }
    assert.is(refused, 401);
    await client.close().catch(() => undefined);
  });

  test.run();
}
