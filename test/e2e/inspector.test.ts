// The MCP Inspector's CLI, the last release that runs on Node 20 (0.15.0: later ones need Node 22), against the real
// server. Its --cli has no option for an Authorization header, so it runs mcp-remote as its stdio server and
// mcp-remote does the OAuth: the first run signs in (BROWSER points at a script that only notes the URL; the login and
// consent pages are driven by a cookie jar over HTTP), the next runs reuse the token mcp-remote cached. Its web UI
// does the OAuth in the browser (chromium here) and talks Streamable HTTP through its own proxy. The Inspector
// is not a dependency of the repo: install it with
// `npm install --prefix /tmp/inspector-0.15 @modelcontextprotocol/inspector@0.15.0` (or name another prefix in
// MCP_INSPECTOR_PREFIX); without it the suite skips.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { testServers } from '../../app/config.ts';
import { freePort, startTestServer, type TestServer } from '../support/server.ts';
import { Browser, consent, login } from '../http/oauth/support.ts';
import { skipSuite } from '../support/skip.ts';

const NAME = 'e2e: MCP Inspector 0.15 (Node 20): CLI through mcp-remote, web UI over Streamable HTTP';
const PREFIX = process.env.MCP_INSPECTOR_PREFIX ?? path.join(os.tmpdir(), 'inspector-0.15');
const INSPECTOR = path.join(PREFIX, 'node_modules', '@modelcontextprotocol', 'inspector', 'cli', 'build', 'cli.js');
const PROXY = path.resolve('node_modules', 'mcp-remote', 'dist', 'proxy.js');
const chromiumPath = testServers().chromiumPath;
const SHOTS = path.resolve('test-output', 'screenshots');
const USER = { email: 'grace@example.test', password: 'grace-password-123' };
/** One Inspector run: two node processes start, mcp-remote connects, one request. */
const RUN_MS = 25_000;

type Run = { code: number | null; stdout: string; stderr: string };

const versionOf = (packageDir: string): string =>
  (JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;

type Context = { server: TestServer; userId: string; home: string; callbackPort: number };

if (!fs.existsSync(INSPECTOR)) {
  skipSuite(
    NAME,
    `@modelcontextprotocol/inspector is not installed under ${PREFIX} ` +
      '(npm install --prefix /tmp/inspector-0.15 @modelcontextprotocol/inspector@0.15.0)',
    2,
  );
} else if (!fs.existsSync(PROXY)) {
  skipSuite(NAME, `mcp-remote is not installed at ${PROXY} (run npm ci)`, 2);
} else {
  const VERSION = versionOf(path.resolve(INSPECTOR, '..', '..', '..'));
  const test = suite<Context>(NAME);

  test.before(async (context) => {
    context.server = await startTestServer({ PUBLIC_URL: '', HOST: 'localhost' });
    context.userId = await context.server.services.users.create(
      { ...USER, roles: ['user'] },
      { type: 'system', id: 'test' },
    );
    context.home = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-inspector-'));
    context.callbackPort = await freePort();
  });
  test.after(async ({ server, home }) => {
    await server.stop();
    fs.rmSync(home, { recursive: true, force: true });
  });

  /** `mcp-inspector --cli node mcp-remote URL PORT <args>`, in a closed environment with its own token cache. */
  const inspect = (context: Context, args: string[]): Promise<Run> => {
    const { home, server, callbackPort } = context;
    const browser = path.join(home, 'browser.sh');
    fs.writeFileSync(browser, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${path.join(home, 'opened.txt')}'\n`, {
      mode: 0o755,
    });
    const url = `http://localhost:${server.env.PORT}/mcp`;
    const child = spawn(
      process.execPath,
      [INSPECTOR, '--cli', process.execPath, PROXY, url, String(callbackPort), ...args],
      {
        env: {
          PATH: `${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
          HOME: home,
          BROWSER: browser,
          MCP_REMOTE_CONFIG_DIR: path.join(home, 'mcp-auth'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`inspector ${args.join(' ')}: no exit in ${RUN_MS} ms\n${stdout}\n${stderr}`));
      }, RUN_MS);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  };

  /** Waits for the BROWSER script to note an authorize URL, then signs in and approves as a person would. */
  const signIn = async (context: Context): Promise<void> => {
    const opened = path.join(context.home, 'opened.txt');
    const deadline = Date.now() + RUN_MS;
    while (!fs.existsSync(opened)) {
      if (Date.now() > deadline) throw new Error('mcp-remote never opened the browser');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const authorize = new URL(fs.readFileSync(opened, 'utf8').trim().split('\n')[0]!);
    const browser = new Browser(authorize.origin);
    const start = await browser.get(authorize.toString());
    assert.is(start.status, 303, 'authorize sends the browser to the login page');
    const signedIn = await login(browser, start.headers.get('location')!, USER.email, USER.password);
    assert.is(signedIn.status, 303, 'the login is accepted');
    const approved = await consent(browser, signedIn.headers.get('location')!, 'approve');
    assert.is(approved.status, 303, 'consent redirects to mcp-remote');
    const delivered = await fetch(approved.headers.get('location')!);
    assert.is(delivered.status, 200, 'mcp-remote took the callback');
  };

  test(`inspector ${VERSION} --cli via mcp-remote: login on the first run, then tools/list and tools/call`, async (context) => {
    // First run: mcp-remote has no token, so it registers, opens the "browser", and waits for the callback.
    const [first] = await Promise.all([inspect(context, ['--method', 'tools/list']), signIn(context)]);
    assert.is(first.code, 0, first.stderr);
    const tools = (JSON.parse(first.stdout) as { tools: Array<{ name: string }> }).tools.map((tool) => tool.name);
    for (const tool of ['system_whoami', 'memory_store', 'memory_search']) assert.ok(tools.includes(tool), tool);

    // Later runs reuse the cached token: no browser.
    const whoami = await inspect(context, ['--method', 'tools/call', '--tool-name', 'system_whoami']);
    assert.is(whoami.code, 0, whoami.stderr);
    const me = (JSON.parse(whoami.stdout) as { structuredContent: { userId: string; email: string } })
      .structuredContent;
    assert.is(me.userId, context.userId);
    assert.is(me.email, USER.email);

    const note = `inspector: the pangolin ${Date.now()}`;
    const stored = await inspect(context, [
      '--method',
      'tools/call',
      '--tool-name',
      'memory_store',
      '--tool-arg',
      `content=${note}`,
    ]);
    assert.is(stored.code, 0, stored.stderr);
    assert.is(
      (JSON.parse(stored.stdout) as { structuredContent: { content: string } }).structuredContent.content,
      note,
    );

    const opened = fs.readFileSync(path.join(context.home, 'opened.txt'), 'utf8').trim().split('\n');
    assert.is(opened.length, 1, 'only the first run asked for a login');
  });

  if (!fs.existsSync(chromiumPath)) {
    skipSuite(`${NAME} (web UI)`, `chromium not installed at ${chromiumPath}`, 1);
  } else {
    test(`inspector ${VERSION} web UI, Streamable HTTP: its own OAuth, then tools/list and tools/call`, async (context) => {
      const { server, home } = context;
      const [clientPort, proxyPort] = [await freePort(), await freePort()];
      // Its own process group, so that stopping it also stops the UI and proxy servers it starts.
      const inspector = spawn(process.execPath, [INSPECTOR], {
        env: {
          PATH: `${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
          HOME: home,
          CLIENT_PORT: String(clientPort),
          SERVER_PORT: String(proxyPort),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let output = '';
      const ready = new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`inspector UI did not start:\n${output}`)), RUN_MS);
        const onData = (chunk: Buffer): void => {
          output += chunk.toString();
          const link = /(http:\/\/localhost:\d+\/\?MCP_PROXY_AUTH_TOKEN=[0-9a-f]+)/.exec(output);
          if (link && output.includes('is up and running')) {
            clearTimeout(timer);
            resolve(link[1]!);
          }
        };
        inspector.stdout.on('data', onData);
        inspector.stderr.on('data', onData);
      });
      const browser = await chromium.launch({
        executablePath: chromiumPath,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      });
      try {
        const link = new URL(await ready);
        link.searchParams.set('transport', 'streamable-http');
        link.searchParams.set('serverUrl', `http://localhost:${server.env.PORT}/mcp`);
        link.searchParams.set('MCP_PROXY_FULL_ADDRESS', `http://localhost:${proxyPort}`);
        const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
        page.setDefaultTimeout(RUN_MS);
        await page.goto(link.toString());
        await page.getByRole('button', { name: /^Connect$/ }).click();
        // The server answered 401; the UI discovered, registered and sent the browser to the sign-in page.
        await page.waitForURL(/\/oauth\/login\?/);
        await page.fill('input[name=email]', USER.email);
        await page.fill('input[name=password]', USER.password);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.waitForURL(/\/oauth\/consent\?/);
        await page.getByRole('button', { name: 'Allow' }).click();
        await page.waitForURL(new RegExp(`^http://localhost:${clientPort}/`));
        await page.getByText('Connected', { exact: true }).waitFor();
        await page.getByRole('tab', { name: 'Tools' }).click();
        await page.getByRole('button', { name: 'List Tools' }).click();
        await page.getByText('system_whoami', { exact: true }).click();
        await page.getByRole('button', { name: 'Run Tool' }).click();
        await page.getByText('Tool Result: Success').waitFor();
        const body = await page.locator('body').innerText();
        assert.ok(body.includes(`"${USER.email}"`), 'system_whoami answered for the signed-in user');
        assert.ok(body.includes(`"${context.userId}"`));
        fs.mkdirSync(SHOTS, { recursive: true });
        await page.screenshot({ path: path.join(SHOTS, 'inspector-0.15-ui-whoami.png') });
      } finally {
        await browser.close();
        if (inspector.pid !== undefined) process.kill(-inspector.pid, 'SIGTERM');
      }
    });
  }

  test.run();
}
