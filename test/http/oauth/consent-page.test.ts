// The consent page tells the user how far to trust the application's name: a dynamically registered
// client is marked unverified with the host the browser goes back to; an admin-registered one is not.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { authorizeUrl, Browser, login, pkce, publicClient, vettedClient } from './support.ts';

const test = suite<{ server: TestServer }>('oauth: consent page shows how the client is known');
test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.stop());

const consentPage = async (server: TestServer, clientId: string, redirectUri: string): Promise<string> => {
  const browser = new Browser(server.base);
  const start = await browser.get(
    authorizeUrl(server.base, {
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    }),
  );
  assert.is(start.status, 303);
  const posted = await login(browser, start.headers.get('location')!, server.adminEmail, server.adminPassword);
  assert.is(posted.status, 303);
  const consent = posted.headers.get('location')!;
  assert.match(consent, /\/oauth\/consent/);
  const page = await browser.get(consent);
  assert.is(page.status, 200);
  return page.text();
};

test('a dynamically registered client is marked unverified and shows its redirect host', async ({ server }) => {
  const redirect = 'http://127.0.0.1:9876/callback';
  const client = await publicClient(server, redirect);
  const html = await consentPage(server, client.client_id, redirect);
  assert.match(html, /id="client-unverified"/);
  assert.match(html, /Unverified application\./);
  assert.match(html, /<strong id="redirect-host">127\.0\.0\.1:9876<\/strong>/);
});

test('an admin-registered client carries no warning', async ({ server }) => {
  const redirect = 'http://127.0.0.1:9877/callback';
  const client = await vettedClient(server, redirect);
  const html = await consentPage(server, client.client_id, redirect);
  assert.not.match(html, /client-unverified/);
  assert.not.match(html, /client-document/);
});

test.run();
