// GET /: the home page a person lands on. Over HTTP (no JavaScript) it names the MCP URL, the client
// recipes, the admin link and the health; in chromium the copy button appears and copies the URL.
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { testServers } from '../../app/config.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { launchChromium } from '../support/browser.ts';

const chromiumPath = testServers().chromiumPath;
const SHOTS = path.resolve('test-output', 'screenshots');
const test = suite<{ server: TestServer }>('http: home page');

test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server?.stop());

test('GET / is a page with the MCP URL, client recipes, the admin link and the health', async ({ server }) => {
  const response = await fetch(`${server.base}/`);
  assert.is(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(response.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  const html = await response.text();
  const mcpUrl = `${server.base}/mcp`;
  assert.ok(html.includes(`value="${mcpUrl}"`), 'the URL field holds the MCP URL');
  assert.ok(html.includes(`claude mcp add --transport http remotemcp ${mcpUrl}`), 'the Claude Code command');
  assert.ok(html.includes(`href="${server.base}/admin"`), 'a link to the admin panel');
  assert.match(html, /id="health"[^>]*>.*Healthy/s);
  for (const client of ['Claude (claude.ai and Claude Desktop)', 'ChatGPT', 'VS Code', 'Cursor'])
    assert.ok(html.includes(client), client);
  assert.ok(html.includes('needs this server on a public https URL'), 'http servers warn about cloud clients');
});

test('in a browser: no console error, the copy button copies the URL', async ({ server }) => {
  if (!fs.existsSync(chromiumPath)) {
    process.stdout.write(`    skipped: chromium not installed at ${chromiumPath}\n`);
    return;
  }
  fs.mkdirSync(SHOTS, { recursive: true });
  const browser = await launchChromium(chromiumPath);
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${server.base}/`);
    await page.click('#copy-mcp-url');
    await page.waitForSelector('#copy-mcp-url >> text=Copied');
    assert.is(await page.evaluate(() => navigator.clipboard.readText()), `${server.base}/mcp`);
    await page.screenshot({ path: path.join(SHOTS, 'home.png'), fullPage: true });
    assert.equal(errors, []);
  } finally {
    await browser.close();
  }
});

test.run();
