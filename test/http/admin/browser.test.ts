// The admin panel in a real browser (playwright-core + Debian's chromium): sign in, dashboard charts,
// create a user, rebuild a projection and watch progress, filter the audit log. Every request must stay
// on the server's origin and the console must stay free of errors (the CSP would report inline code).
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { testServers } from '../../../app/config.ts';
import { skipSuite } from '../../support/skip.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { guardedPage, launchChromium } from '../../support/browser.ts';
import { initialize as initializeMcp } from '../../mcp/raw.ts';

const NAME = 'admin: browser (playwright)';
const CASES = 7;
const chromiumPath = testServers().chromiumPath;
const SHOTS = path.resolve('test-output', 'screenshots');

type Context = { server: TestServer; browser: Browser; page: Page; offsite: string[]; consoleErrors: string[] };

if (!fs.existsSync(chromiumPath)) {
  skipSuite(NAME, `chromium not installed at ${chromiumPath}`, CASES);
} else {
  const test = suite<Context>(NAME);

  test.before(async (context) => {
    fs.mkdirSync(SHOTS, { recursive: true });
    context.server = await startTestServer();
    context.browser = await launchChromium(chromiumPath);
    // Nothing may leave the server's origin: requests elsewhere are blocked and recorded.
    Object.assign(context, await guardedPage(context.browser, new URL(context.server.base).origin));
  });

  test.after(async ({ browser, server }) => {
    await browser?.close();
    await server?.stop();
  });

  test.after.each(({ offsite, consoleErrors }) => {
    assert.equal(offsite, [], 'requests left the origin');
    assert.equal(consoleErrors, [], 'console errors');
  });

  test('sign in through the form', async ({ page, server }) => {
    await page.goto(`${server.base}/admin`);
    assert.is(new URL(page.url()).pathname, '/admin/login');
    await page.fill('input[name=email]', server.adminEmail);
    await page.fill('input[name=password]', server.adminPassword);
    await Promise.all([page.waitForURL(`${server.base}/admin`), page.click('button[type=submit]')]);
    await page.screenshot({ path: path.join(SHOTS, 'admin-01-signed-in.png') });
  });

  test('the dashboard charts render from /admin/api/stats', async ({ page, server }) => {
    await page.goto(`${server.base}/admin`);
    await page.waitForSelector('body[data-stats-loaded="true"]', { timeout: 10_000 });
    for (const id of ['chart-events', 'chart-system', 'chart-logins', 'chart-requests']) {
      assert.ok(await page.locator(`canvas#${id}`).count(), id);
      const drawn = await page.evaluate(
        (canvasId) =>
          Boolean((globalThis as unknown as { Chart: { getChart(id: string): unknown } }).Chart.getChart(canvasId)),
        id,
      );
      assert.ok(drawn, `${id} has a chart`);
    }
    assert.match((await page.textContent('#system-summary')) ?? '', /%/);
    await page.screenshot({ path: path.join(SHOTS, 'admin-02-dashboard.png'), fullPage: true });
  });

  test('create a user with the form', async ({ page, server }) => {
    await page.goto(`${server.base}/admin/users`);
    await page.fill('#new-email', 'browser-made@example.test');
    await page.fill('#new-name', 'Browser Made');
    await page.fill('#new-password', 'browser-password-1');
    await Promise.all([
      page.waitForURL(/\/admin\/users\?ok=user_created$/),
      page.click('#create-user button[type=submit]'),
    ]);
    assert.is(await page.locator('tr[data-email="browser-made@example.test"]').count(), 1);
    assert.match((await page.textContent('.alert-success')) ?? '', /User created/);
    const user = await server.services.users.byEmail('browser-made@example.test');
    assert.is(user?.name, 'Browser Made');
    await page.screenshot({ path: path.join(SHOTS, 'admin-03-user-created.png'), fullPage: true });
  });

  test('rebuild a projection and watch its progress', async ({ page, server }) => {
    await page.goto(`${server.base}/admin/projections`);
    await Promise.all([
      page.waitForURL(/\/admin\/projections\/users\/rebuild$/),
      page.click('button[data-rebuild="users"]'),
    ]);
    await page.waitForSelector('body[data-rebuild-done="true"]', { timeout: 15_000 });
    assert.is(await page.textContent('#rebuild-state'), 'done');
    assert.match((await page.textContent('#rebuild-events')) ?? '', /^\d+ \/ \d+$/);
    const value = await page.evaluate(() => {
      const bar = document.getElementById('rebuild-progress') as HTMLProgressElement;
      return { value: bar.value, max: bar.max };
    });
    assert.ok(value.value > 0 && value.value === value.max, JSON.stringify(value));
    await page.screenshot({ path: path.join(SHOTS, 'admin-04-rebuild.png'), fullPage: true });
  });

  test('filter the audit log by event type and follow a stream', async ({ page, server }) => {
    await page.goto(`${server.base}/admin/audit`);
    await page.fill('#f-type', 'UserCreated');
    await Promise.all([page.waitForURL(/type=UserCreated/), page.click('#audit-filter button[type=submit]')]);
    const types = await page
      .locator('#audit-table tbody tr')
      .evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.type));
    assert.ok(types.length >= 2, `rows: ${types.length}`);
    assert.ok(types.every((type) => type === 'UserCreated'));
    assert.match((await page.textContent('#audit-table')) ?? '', /browser-made@example\.test/);
    await page.screenshot({ path: path.join(SHOTS, 'admin-05-audit-filtered.png'), fullPage: true });
    // Follow one user's stream: everything that happened to it, with the admin as actor.
    const user = await server.services.users.byEmail('browser-made@example.test');
    await page.click(`a[href="/admin/audit?stream=user-${user!.id}"]`);
    await page.waitForURL(/stream=user-/);
    assert.equal(await page.locator('#audit-table tbody tr').count(), 1);
    assert.match((await page.textContent('#audit-table')) ?? '', new RegExp(server.adminEmail.replace('.', '\\.')));
  });

  test('revoke a token and see the MCP request with it refused', async ({ page, server }) => {
    const { client, clientSecret } = await server.services.oauth.createMachineClient(
      { name: 'browser-test', userEmail: 'browser-bot@example.com' },
      { type: 'system', id: 'test' },
    );
    assert.ok(clientSecret);
    const token = (
      await server.services.oauth.tokens.clientCredentials(client, {
        scope: 'mcp:tools:read',
        resource: `${server.base}/mcp`,
      })
    ).access_token;
    const initialize = () => initializeMcp(server.base, token, '2025-06-18', 'browser-test');
    assert.is((await initialize()).status, 200);
    await page.goto(`${server.base}/admin/tokens?client=${encodeURIComponent(client.clientId)}`);
    const row = page.locator('#access-tokens-table tbody tr');
    assert.is(await row.count(), 1);
    await Promise.all([page.waitForURL(/ok=revoked/), row.locator('button[type=submit]').click()]);
    assert.is(await page.locator('#access-tokens-table tbody tr').count(), 0);
    assert.is((await initialize()).status, 401);
    await page.screenshot({ path: path.join(SHOTS, 'admin-06-token-revoked.png'), fullPage: true });
  });

  test('disable a tool', async ({ page, server }) => {
    const tool = (await server.services.tools.list()).find((t) => t.enabled);
    assert.ok(tool);
    await page.goto(`${server.base}/admin/tools`);
    await Promise.all([page.waitForURL(/ok=tool_updated/), page.click(`button[data-toggle-tool="${tool.name}"]`)]);
    assert.is(((await page.textContent(`tr[data-tool="${tool.name}"] .badge`)) ?? '').trim(), 'disabled');
    assert.is((await server.services.tools.list()).find((t) => t.name === tool.name)?.enabled, false);
    await page.screenshot({ path: path.join(SHOTS, 'admin-07-tool-disabled.png'), fullPage: true });
  });

  test.run();
}
