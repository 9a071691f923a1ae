// PUBLIC_URL unset, as on a first run: the server is opened as http://localhost:P, http://127.0.0.1:P
// and http://[::1]:P. Through each, in chromium: admin sign-in, and the MCP SDK client's full OAuth flow
// (discovery, registration, PKCE, the login and consent pages) followed by a tools/call with the token.
// A token obtained under one name is accepted under the others.
import fs from 'node:fs';
import path from 'node:path';
import { decodeJwt } from 'jose';
import type { Browser } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { testServers } from '../../app/config.ts';
import { skipSuite } from '../support/skip.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { hasIpv6Loopback } from '../support/ipv6.ts';
import { launchChromium, loopbackCallback, type LoopbackCallback } from '../support/browser.ts';
import { MemoryOAuthProvider } from '../support/oauth-provider.ts';

const NAME = 'http: every loopback name works with PUBLIC_URL unset (playwright)';
const chromiumPath = testServers().chromiumPath;
const SHOTS = path.resolve('test-output', 'screenshots');

type Context = {
  server: TestServer;
  browser: Browser;
  callback: LoopbackCallback;
  callbackUrl: string;
  /** access tokens by the origin they were obtained through */
  tokens: Map<string, string>;
};

/** tools/call through the SDK client with a bearer token at `origin`. */
const callTool = async (origin: string, token: string) => {
  const client = new Client({ name: 'loopback-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${origin}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  try {
    return await client.callTool({ name: 'system_event_log_status', arguments: {} });
  } finally {
    await client.close();
  }
};

const ipv6 = await hasIpv6Loopback();
const names = ['localhost', '127.0.0.1', ...(ipv6 ? ['[::1]'] : [])];

if (!fs.existsSync(chromiumPath)) {
  skipSuite(NAME, `chromium not installed at ${chromiumPath}`, 4);
} else {
  if (!ipv6) skipSuite(`${NAME} [::1]`, 'this machine has no IPv6 loopback (::1 cannot be bound)', 1);
  const test = suite<Context>(NAME);

  test.before(async (context) => {
    fs.mkdirSync(SHOTS, { recursive: true });
    // PUBLIC_URL '' is "unset" (app/config.ts), as in `PUBLIC_URL= npm start`; HOST is the default.
    context.server = await startTestServer({ PUBLIC_URL: '', HOST: 'localhost' });
    context.tokens = new Map();
    context.callback = await loopbackCallback();
    context.callbackUrl = context.callback.url;
    context.browser = await launchChromium(chromiumPath);
  });
  test.after(async ({ server, browser, callback }) => {
    await browser.close();
    await callback.close();
    await server.stop();
  });

  for (const name of names) {
    const shot = (step: string) => path.join(SHOTS, `loopback-${name === '[::1]' ? 'ipv6' : name}-${step}.png`);

    test(`http://${name}:P — admin sign-in lands on the dashboard`, async ({ server, browser }) => {
      const origin = `http://${name}:${server.env.PORT}`;
      const page = await browser.newPage();
      await page.goto(`${origin}/admin`);
      assert.match(page.url(), new RegExp(`^${origin.replace(/[[\]./]/g, '\\$&')}/admin/login`));
      await page.fill('input[name=email]', server.adminEmail);
      await page.fill('input[name=password]', server.adminPassword);
      const [response] = await Promise.all([
        page.waitForResponse((candidate) => candidate.request().method() === 'POST'),
        page.click('button[type=submit]'),
      ]);
      assert.is(response.status(), 303, 'the sign-in POST is accepted (no csrf_failed)');
      await page.waitForURL(`${origin}/admin`);
      assert.match(await page.content(), /Sign out/);
      await page.waitForLoadState('networkidle');
      await page.screenshot({ path: shot('admin'), fullPage: false });
      await page.close();
    });

    test(`http://${name}:P — MCP SDK auth() through login and consent in chromium, then tools/call`, async (context) => {
      const { server, browser } = context;
      const origin = `http://${name}:${server.env.PORT}`;
      const serverUrl = `${origin}/mcp`;
      const provider = new MemoryOAuthProvider(context.callbackUrl, 'Loopback test client');
      // The SDK checks that the protected-resource metadata names serverUrl itself (RFC 9728 §3.3).
      assert.is(await auth(provider, { serverUrl }), 'REDIRECT');
      const authorizationUrl = provider.authorizationUrl!;
      assert.is(authorizationUrl.origin, origin);
      assert.is(authorizationUrl.searchParams.get('resource'), serverUrl);
      const page = await browser.newPage();
      await page.goto(authorizationUrl.toString());
      assert.ok(page.url().startsWith(`${origin}/oauth/login?request=`), page.url());
      await page.screenshot({ path: shot('login'), fullPage: false });
      await page.fill('input[name="email"]', server.adminEmail);
      await page.fill('input[name="password"]', server.adminPassword);
      await Promise.all([page.waitForURL(/\/oauth\/consent\?request=/), page.click('button[type="submit"]')]);
      assert.ok(page.url().startsWith(`${origin}/oauth/consent`), page.url());
      await page.screenshot({ path: shot('consent'), fullPage: false });
      await Promise.all([page.waitForURL(/\/callback\?/), page.click('button[name="decision"][value="approve"]')]);
      const callback = new URL(page.url());
      // RFC 9207: the response names the issuer the client discovered, this very origin.
      assert.is(callback.searchParams.get('iss'), origin);
      await page.close();
      assert.is(
        await auth(provider, { serverUrl, authorizationCode: callback.searchParams.get('code')! }),
        'AUTHORIZED',
      );
      const token = provider.saved!.access_token;
      const claims = decodeJwt(token);
      assert.is(claims.iss, origin);
      assert.is(claims.aud, serverUrl);
      const result = await callTool(origin, token);
      assert.is(result.isError, undefined);
      assert.ok((result.structuredContent as { kind?: string }).kind, 'the tool answered');
      context.tokens.set(origin, token);
    });
  }

  test('a token obtained through one loopback name is accepted through the others', async ({ server, tokens }) => {
    const origins = names.map((name) => `http://${name}:${server.env.PORT}`);
    assert.is(tokens.size, origins.length);
    for (const [from, token] of tokens)
      for (const to of origins.filter((origin) => origin !== from)) {
        const result = await callTool(to, token);
        assert.is(result.isError, undefined, `${from} → ${to}`);
      }
  });

  test.run();
}
