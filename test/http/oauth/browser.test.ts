// The authorization flow in a real browser (playwright-core + Debian's chromium): authorize → login
// page → consent page → the client's loopback callback receives code, state and iss. Also checks the
// pages cannot be framed and that the forms work under their CSP.
import fs from 'node:fs';
import type { Browser } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { testServers } from '../../../app/config.ts';
import { skipSuite } from '../../support/skip.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { authorizeUrl, pkce, publicClient, tokenRequest } from './support.ts';
import { launchChromium, loopbackCallback, type LoopbackCallback } from '../../support/browser.ts';

const NAME = 'oauth: browser flow (playwright)';
const chromiumPath = testServers().chromiumPath;

type Context = {
  server: TestServer;
  browser: Browser;
  callback: LoopbackCallback;
  callbackUrl: string;
  received: URL[];
};

if (!fs.existsSync(chromiumPath)) {
  skipSuite(NAME, `chromium not installed at ${chromiumPath}`, 2);
} else {
  const test = suite<Context>(NAME);

  test.before(async (context) => {
    context.server = await startTestServer();
    context.callback = await loopbackCallback();
    context.callbackUrl = context.callback.url;
    context.received = context.callback.received;
    context.browser = await launchChromium(chromiumPath);
  });
  test.after(async ({ server, browser, callback }) => {
    await browser.close();
    await callback.close();
    await server.stop();
  });

  test('sign in and approve in chromium; the callback gets code, state and iss; the code redeems', async ({
    server,
    browser,
    callbackUrl,
    received,
  }) => {
    const client = await publicClient(server, callbackUrl);
    const { verifier, challenge } = pkce();
    const page = await browser.newPage();
    const errors: string[] = [];
    // Every page of the flow loads fully (assets found, nothing blocked by the CSP); the browser's own favicon probe aside.
    page.on(
      'response',
      (response) =>
        response.status() >= 400 &&
        !response.url().endsWith('/favicon.ico') &&
        errors.push(`${response.status()} ${response.url()}`),
    );
    page.on(
      'console',
      (message) => message.type() === 'error' && !/status of 404/.test(message.text()) && errors.push(message.text()),
    );
    await page.goto(
      authorizeUrl(server.base, {
        response_type: 'code',
        client_id: client.client_id,
        redirect_uri: callbackUrl,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: 'browser-state',
        scope: 'mcp:tools:read',
      }),
    );
    assert.match(page.url(), /\/oauth\/login\?request=/);
    await page.fill('input[name="email"]', server.adminEmail);
    await page.fill('input[name="password"]', server.adminPassword);
    await page.click('button[type="submit"]');
    await page.waitForURL(/\/oauth\/consent\?request=/);
    assert.match(await page.content(), /Test client/);
    await page.click('button[name="decision"][value="approve"]');
    await page.waitForURL(/\/callback\?/);
    const callback = received.at(-1)!;
    assert.is(callback.searchParams.get('state'), 'browser-state');
    assert.is(callback.searchParams.get('iss'), server.base);
    const exchange = await tokenRequest(server.base, {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      redirect_uri: callbackUrl,
      code_verifier: verifier,
      client_id: client.client_id,
    });
    assert.is(exchange.status, 200);
    assert.equal(errors, []);
    await page.close();
  });

  test('the login page refuses to be framed (frame-ancestors none)', async ({ server, browser }) => {
    const client = await publicClient(server);
    const page = await browser.newPage();
    const target = authorizeUrl(server.base, {
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: 'http://127.0.0.1:9999/callback',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    });
    await page.setContent(`<iframe id="f" src="${target}"></iframe>`);
    await page.waitForTimeout(500);
    const frame = page.frames().find((candidate) => candidate !== page.mainFrame());
    const framedHasForm = frame
      ? await frame
          .$('input[name="password"]')
          .then((element) => element !== null)
          .catch(() => false)
      : false;
    assert.is(framedHasForm, false);
    await page.close();
  });

  test.run();
}
