// The panel's MCP views in a real browser (playwright-core + Debian's chromium) against the real server:
// a call refused for scope shows in Tools and in the audit, one session's audit lists its tool calls,
// and End on the Sessions page makes the server refuse the client. Same offsite/console checks as
// browser.test.ts.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { testServers } from '../../../app/config.ts';
import { MCP_READ, MCP_WRITE } from '../../../domain/scopes.ts';
import { skipSuite } from '../../support/skip.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { guardedPage, launchChromium } from '../../support/browser.ts';
import { postRpc } from '../../mcp/raw.ts';

const NAME = 'admin: browser, MCP sessions and denied calls (playwright)';
const CASES = 5;
const chromiumPath = testServers().chromiumPath;
const SHOTS = path.resolve('test-output', 'screenshots');

type Context = {
  server: TestServer;
  browser: Browser;
  page: Page;
  offsite: string[];
  consoleErrors: string[];
  token: string;
  sessionId: string;
};

const post = (server: TestServer, token: string, body: unknown, sessionId?: string) =>
  postRpc(`${server.base}/mcp`, body, {
    authorization: `Bearer ${token}`,
    ...(sessionId ? { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' } : {}),
  });

if (!fs.existsSync(chromiumPath)) {
  skipSuite(NAME, `chromium not installed at ${chromiumPath}`, CASES);
} else {
  const test = suite<Context>(NAME);

  test.before(async (context) => {
    fs.mkdirSync(SHOTS, { recursive: true });
    const server = (context.server = await startTestServer());
    context.browser = await launchChromium(chromiumPath);
    // Nothing may leave the server's origin: requests elsewhere are blocked and recorded.
    Object.assign(context, await guardedPage(context.browser, new URL(server.base).origin));

    // A read-only machine client with an MCP session: one allowed call, one refused for scope.
    const { client } = await server.services.oauth.createMachineClient(
      { name: 'Reporting bot', userEmail: 'reporting-bot@example.com' },
      { type: 'system', id: 'test' },
    );
    context.token = (
      await server.services.oauth.tokens.clientCredentials(client, { scope: MCP_READ, resource: `${server.base}/mcp` })
    ).access_token;
    const init = await post(server, context.token, {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'report-runner', version: '3.1' },
      },
    });
    assert.is(init.status, 200);
    await init.text();
    context.sessionId = init.headers.get('mcp-session-id')!;
    const call = async (id: number, name: string, args: Record<string, unknown>) => {
      const response = await post(
        server,
        context.token,
        { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } },
        context.sessionId,
      );
      await response.text();
      // A read's records land with the commit under way, and one commit groups its events by stream:
      // each call's records are in the log before the next call, as with a person at the keyboard.
      await server.services.groupCommit.flush();
      return response.status;
    };
    assert.is(await call(2, 'system_whoami', {}), 200);
    assert.is(await call(3, 'fs_list_directory', { path: '.' }), 200);
    assert.is(await call(4, 'fs_write_file', { path: 'report.txt', content: 'quarterly numbers' }), 403);
    // The read models catch up in the background.
    for (let i = 0; i < 100; i += 1) {
      const { rowCount } = await server.services.db.query(
        `SELECT 1 FROM tool_calls WHERE session_id = $1 AND outcome = 'denied'`,
        [context.sessionId],
      );
      if (rowCount) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  test.after(async ({ browser, server }) => {
    await browser?.close();
    await server?.stop();
  });

  test.after.each(({ offsite, consoleErrors }) => {
    assert.equal(offsite, [], 'requests left the origin');
    assert.equal(consoleErrors, [], 'console errors');
  });

  test('sign in', async ({ page, server }) => {
    await page.goto(`${server.base}/admin/login`);
    await page.fill('input[name=email]', server.adminEmail);
    await page.fill('input[name=password]', server.adminPassword);
    await Promise.all([page.waitForURL(`${server.base}/admin`), page.click('button[type=submit]')]);
  });

  test('the denied call is counted in Tools and shown in the audit', async ({ page, server }) => {
    await page.goto(`${server.base}/admin/tools`);
    assert.is(((await page.textContent('td[data-denied="fs_write_file"]')) ?? '').trim(), '1');
    assert.is(((await page.textContent('td[data-denied="system_whoami"]')) ?? '').trim(), '0');
    await page.locator('tr[data-tool="fs_write_file"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, 'admin-mcp-01-tools-denied.png') });
    await page.goto(`${server.base}/admin/audit?type=ToolCalled`);
    const denied = page.locator('#audit-table tbody tr[data-summary^="fs_write_file → denied"]');
    assert.is(await denied.count(), 1);
    const text = (await denied.textContent()) ?? '';
    assert.match(text, /reporting-bot@example\.com/);
    assert.match(text, /Reporting bot/);
    assert.match(text, new RegExp(`insufficient_scope: the tool fs_write_file needs the scope ${MCP_WRITE}`));
    await page.screenshot({ path: path.join(SHOTS, 'admin-mcp-02-audit-denied.png'), fullPage: true });
  });

  test('the audit of one session lists its tool calls, reached from the Sessions page', async ({
    page,
    server,
    sessionId,
  }) => {
    await page.goto(`${server.base}/admin/sessions`);
    await Promise.all([
      page.waitForURL(new RegExp(`/admin/audit\\?session=${sessionId}$`)),
      page.click(`tr[data-session="${sessionId}"] a[href="/admin/audit?session=${sessionId}"]`),
    ]);
    const summaries = await page
      .locator('#audit-table tbody tr')
      .evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.summary ?? ''));
    assert.equal(summaries.reverse(), [
      'session opened by report-runner 3.1 (2025-06-18)',
      'initialize → ok',
      'system_whoami → ok',
      'tools/call system_whoami → ok',
      'fs_list_directory → ok',
      'tools/call fs_list_directory → ok',
      `fs_write_file → denied (insufficient_scope: the tool fs_write_file needs the scope ${MCP_WRITE})`,
    ]);
    await page.screenshot({ path: path.join(SHOTS, 'admin-mcp-03-session-audit.png'), fullPage: true });
  });

  test('the dashboard counts the refused call as a tool error and the 403 as an HTTP error; the System chart fills its window', async ({
    page,
    server,
  }) => {
    await page.goto(`${server.base}/admin`);
    await page.waitForSelector('body[data-stats-loaded="true"]', { timeout: 10_000 });
    assert.is(((await page.textContent('[data-count="tool-errors"]')) ?? '').trim(), '1');
    const http = ((await page.textContent('[data-count="http-errors"]')) ?? '').trim();
    assert.ok(http === 'not available yet' || Number(http) >= 1, `HTTP errors: ${http}`);
    const system = await page.evaluate(() => {
      const chart = (
        globalThis as unknown as { Chart: { getChart(id: string): { data: { labels: unknown[] } } } }
      ).Chart.getChart('chart-system');
      return chart.data.labels.length;
    });
    assert.is(system, 60, 'the first sample lands in a full 60-sample window');
    await page.screenshot({ path: path.join(SHOTS, 'admin-mcp-06-dashboard.png'), fullPage: true });
  });

  test('End on the Sessions page: the client is refused afterwards', async ({ page, server, token, sessionId }) => {
    const ping = () => post(server, token, { jsonrpc: '2.0', id: 9, method: 'ping' }, sessionId);
    const before = await ping();
    await before.text();
    assert.is(before.status, 200);
    await page.goto(`${server.base}/admin/sessions`);
    assert.is(await page.getAttribute(`tr[data-session="${sessionId}"]`, 'data-state'), 'live');
    assert.is(
      ((await page.textContent(`tr[data-session="${sessionId}"] td:nth-child(4) a`)) ?? '').trim(),
      'Reporting bot',
    );
    await page.screenshot({ path: path.join(SHOTS, 'admin-mcp-04-sessions-live.png') });
    // At 1280 px the nav, the admin's email and Sign out fit on one line.
    const nav = await page.locator('nav.admin-nav').boundingBox();
    const signOut = await page.locator('nav.admin-nav button[type=submit]').boundingBox();
    assert.ok(nav && nav.height < 70, `nav height ${nav?.height}`);
    assert.ok(signOut && signOut.height < 40, `Sign out height ${signOut?.height}`);

    await Promise.all([
      page.waitForURL(/\/admin\/sessions\?ok=mcp_session_ended$/),
      page.click(`button[data-end-mcp="${sessionId}"]`),
    ]);
    assert.match((await page.textContent('.alert-success')) ?? '', /MCP session ended/);
    const after = await ping();
    assert.is(after.status, 404);
    assert.equal(await after.json(), {
      jsonrpc: '2.0',
      error: { code: -32001, message: 'Session not found' },
      id: null,
    });
    for (let i = 0; i < 100; i += 1) {
      await page.goto(`${server.base}/admin/sessions`);
      if ((await page.getAttribute(`tr[data-session="${sessionId}"]`, 'data-state')) === 'ended') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.is(await page.getAttribute(`tr[data-session="${sessionId}"]`, 'data-state'), 'ended');
    assert.is(await page.locator(`button[data-end-mcp="${sessionId}"]`).count(), 0);
    await page.screenshot({ path: path.join(SHOTS, 'admin-mcp-05-session-ended.png') });
  });

  test.run();
}
