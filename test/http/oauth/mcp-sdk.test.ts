// The MCP TypeScript SDK's own client auth flow (`auth()` with an OAuthClientProvider) against the real
// server: protected-resource discovery, metadata, dynamic registration, PKCE, login + consent, token
// exchange, and refresh.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { MemoryOAuthProvider } from '../../support/oauth-provider.ts';
import { Browser, consent, login } from './support.ts';

const REDIRECT = 'http://127.0.0.1:33333/callback';
const test = suite<{ server: TestServer }>('oauth: MCP SDK client auth()');

test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.stop());

test('auth() with dynamic registration completes; the token is accepted for /mcp; a second auth() refreshes', async ({
  server,
}) => {
  const provider = new MemoryOAuthProvider(REDIRECT, 'MCP SDK test');
  const serverUrl = `${server.base}/mcp`;
  assert.is(await auth(provider, { serverUrl }), 'REDIRECT');
  assert.ok(provider.info?.client_id, 'registered dynamically');
  const url = provider.authorizationUrl!;
  assert.is(url.searchParams.get('code_challenge_method'), 'S256');
  assert.is(url.searchParams.get('resource'), serverUrl);
  const browser = new Browser(server.base);
  const start = await browser.get(url.toString());
  const loggedIn = await login(browser, start.headers.get('location')!, server.adminEmail, server.adminPassword);
  const approved = await consent(browser, loggedIn.headers.get('location')!, 'approve');
  const callback = new URL(approved.headers.get('location')!);
  assert.is(await auth(provider, { serverUrl, authorizationCode: callback.searchParams.get('code')! }), 'AUTHORIZED');
  const info = await server.services.oauth.verifier.verify(provider.saved!.access_token, serverUrl);
  assert.is(info.clientId, provider.info!.client_id);
  const first = provider.saved!;
  // With tokens saved, auth() refreshes instead of redirecting.
  assert.is(await auth(provider, { serverUrl }), 'AUTHORIZED');
  assert.is.not(provider.saved!.refresh_token, first.refresh_token);
});

test.run();
