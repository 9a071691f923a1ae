// The Sessions page for 2026-07-28 clients, which have no session, in a real browser (playwright-core +
// Debian's chromium): a client that called a tool and holds a subscriptions/listen stream shows as one
// live grant; End revokes the grant, which closes the listen stream and makes the server refuse the token.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Client, StreamableHTTPClientTransport, type McpSubscription } from '@modelcontextprotocol/client';
import { testServers } from '../../../app/config.ts';
import { grantIdOfTokenId } from '../../../app/oauth/tokens.ts';
import { grantStream } from '../../../domain/grants/index.ts';
import { freshTokens } from '../oauth/support.ts';
import { launchChromium } from '../../support/browser.ts';
import { skipSuite } from '../../support/skip.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { eventually } from '../../support/tasks.ts';

const NAME = 'admin: stateless clients on the Sessions page (playwright)';
const CASES = 2;
const chromiumPath = testServers().chromiumPath;
const SHOTS = path.resolve('test-output', 'screenshots');

type Context = {
  server: TestServer;
  browser: Browser;
  page: Page;
  consoleErrors: string[];
  token: string;
  grantId: string;
  client: Client;
  subscription: McpSubscription;
};

const jtiOf = (jwt: string): string =>
  (JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;

if (!fs.existsSync(chromiumPath)) {
  skipSuite(NAME, `chromium not installed at ${chromiumPath}`, CASES);
} else {
  const test = suite<Context>(NAME);

  test.before(async (context) => {
    fs.mkdirSync(SHOTS, { recursive: true });
    const server = (context.server = await startTestServer());
    context.token = (await freshTokens(server, { scope: 'mcp:tools:read' })).tokens.access_token;
    context.grantId = grantIdOfTokenId(jtiOf(context.token))!;
    // A v2 client speaking 2026-07-28: no session; one tool call, one open listen stream.
    context.client = new Client(
      { name: 'stateless-e2e', version: '1' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await context.client.connect(
      new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${context.token}` } },
      }),
    );
    const whoami = await context.client.callTool({ name: 'system_whoami', arguments: {} });
    assert.not.ok(whoami.isError);
    context.subscription = await context.client.listen({ toolsListChanged: true });
    await eventually('the call reached the read model', async () => {
      const { rowCount } = await server.services.db.query(
        `SELECT 1 FROM tool_calls WHERE session_id IS NULL AND tool = 'system_whoami'`,
      );
      return rowCount ? true : undefined;
    });
    context.browser = await launchChromium(chromiumPath);
    context.page = await (await context.browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    context.consoleErrors = [];
    context.page.on('console', (message) => {
      if (message.type() === 'error') context.consoleErrors.push(message.text());
    });
    await context.page.goto(`${server.base}/admin/login`);
    await context.page.fill('input[name=email]', server.adminEmail);
    await context.page.fill('input[name=password]', server.adminPassword);
    await Promise.all([context.page.waitForURL(`${server.base}/admin`), context.page.click('button[type=submit]')]);
  });

  test.after(async ({ browser, server, client }) => {
    await client?.close().catch(() => undefined);
    await browser?.close();
    await server?.stop();
  });

  test('the grant is live: one call, one listen stream', async ({ page, server, grantId, consoleErrors }) => {
    await page.goto(`${server.base}/admin/sessions`);
    const row = page.locator(`#stateless-clients-table tr[data-grant="${grantId}"]`);
    assert.is(await row.getAttribute('data-state'), 'live');
    const cells = await row.locator('td').allInnerTexts();
    assert.equal(cells.slice(1, 3), ['live', server.adminEmail]);
    assert.equal(cells.slice(5, 7), ['1', '1']);
    await page.screenshot({ path: path.join(SHOTS, 'sessions-stateless-live.png'), fullPage: true });
    assert.equal(consoleErrors, []);
  });

  test('End revokes the grant: the listen stream closes and the token is refused', async ({
    page,
    server,
    grantId,
    subscription,
    token,
  }) => {
    await Promise.all([
      page.waitForURL(/\/admin\/sessions\?ok=grant_ended/),
      page.click(`button[data-end-grant="${grantId}"]`),
    ]);
    assert.is(await subscription.closed, 'remote');
    const row = page.locator(`#stateless-clients-table tr[data-grant="${grantId}"]`);
    assert.is(await row.getAttribute('data-state'), 'ended');
    assert.is(await page.locator(`button[data-end-grant="${grantId}"]`).count(), 0);
    await page.screenshot({ path: path.join(SHOTS, 'sessions-stateless-ended.png'), fullPage: true });
    const refused = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    assert.is(refused.status, 401);
    const events = await server.services.log.readStream(grantStream(grantId));
    const revoked = events.find((event) => event.type === 'GrantRevoked')!;
    assert.is((revoked.metadata.actor as { email?: string }).email, server.adminEmail);
  });

  test.run();
}
