// openid-client 6 with its defaults against the real server: discovery, dynamic registration with a
// post_logout_redirect_uri, code + PKCE, userinfo (no email_verified until verified), then
// buildEndSessionUrl → the browser is signed out and sent back with state, and refresh still works.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as client from 'openid-client';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { Browser, obtainCode } from './support.ts';

const REDIRECT = 'http://127.0.0.1:45679/callback';
const AFTER_LOGOUT = 'http://127.0.0.1:45679/bye';
const insecure = { execute: [client.allowInsecureRequests] };

type Context = { server: TestServer };
const test = suite<Context>('oauth: openid-client RP-Initiated Logout');

test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.stop());

test('discovery → register → code + PKCE → userinfo → buildEndSessionUrl → refresh', async ({ server }) => {
  const config = await client.dynamicClientRegistration(
    new URL(server.base),
    {
      redirect_uris: [REDIRECT],
      post_logout_redirect_uris: [AFTER_LOGOUT],
      token_endpoint_auth_method: 'none',
      scope: 'openid email mcp:tools:read',
    },
    client.None(),
    insecure,
  );
  assert.is(config.serverMetadata().end_session_endpoint, `${server.base}/oauth/logout`);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorize = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid email mcp:tools:read',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    resource: `${server.base}/mcp`,
  });
  const browser = new Browser(server.base);
  const callback = await obtainCode(server, Object.fromEntries(authorize.searchParams), undefined, browser);
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims()!;
  assert.not.ok('email_verified' in claims);
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.is(info.email, server.adminEmail);
  assert.not.ok('email_verified' in info);

  const logout = client.buildEndSessionUrl(config, {
    post_logout_redirect_uri: AFTER_LOGOUT,
    id_token_hint: tokens.id_token!,
    state: 'after-logout',
  });
  const response = await browser.get(logout.toString());
  assert.is(response.status, 303);
  assert.is(response.headers.get('location'), `${AFTER_LOGOUT}?state=after-logout`);
  // Signed out: the next authorization needs the login page again.
  const again = await browser.get(authorize.toString());
  assert.is(again.status, 303);
  assert.is(new URL(again.headers.get('location')!).pathname, '/oauth/login');
  // The grant stays.
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
  assert.type(refreshed.access_token, 'string');
});

test.run();
