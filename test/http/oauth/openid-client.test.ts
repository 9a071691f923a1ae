// openid-client 6 with its defaults against the real server over HTTP: discovery with the id and
// secret an admin got from `remotemcp clients add --redirect-uri …` (client_secret_basic), which
// openid-client sends as client_secret_post; then authorization code + PKCE through the real login
// and consent pages, userinfo, refresh, introspection of the access token and revocation.
// allowInsecureRequests: the test server speaks plain HTTP on loopback (tests only).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as client from 'openid-client';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { Browser, authorizeUrl, consent, login } from './support.ts';

const test = suite<{ server: TestServer }>('oauth: openid-client 6 with its defaults');
const REDIRECT = 'http://127.0.0.1:9999/callback';

test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.stop());

/** The browser's part: authorize → login → consent → the redirect back to the client (not followed). */
const signInAndApprove = async (server: TestServer, url: URL): Promise<URL> => {
  const browser = new Browser(server.base);
  // The URL openid-client built, sent as is (authorizeUrl keeps its parameters).
  const start = await browser.get(authorizeUrl(url.origin, Object.fromEntries(url.searchParams)));
  assert.is(start.status, 303);
  const loggedIn = await login(browser, start.headers.get('location')!, server.adminEmail, server.adminPassword);
  assert.is(loggedIn.status, 303);
  const approved = await consent(browser, loggedIn.headers.get('location')!, 'approve');
  assert.is(approved.status, 303);
  const callback = new URL(approved.headers.get('location')!);
  assert.is(callback.origin + callback.pathname, REDIRECT);
  return callback;
};

test('discovery(issuer, id, secret) → code + PKCE → userinfo → refresh → introspection → revocation', async ({
  server,
}) => {
  const created = await server.services.oauth.createConfidentialClient(
    { name: 'openid-client app', redirectUris: [REDIRECT] },
    { type: 'system', id: 'test' },
  );
  assert.is(created.client.tokenEndpointAuthMethod, 'client_secret_basic');
  const config = await client.discovery(
    new URL(server.base),
    created.client.clientId,
    created.clientSecret,
    undefined,
    {
      execute: [client.allowInsecureRequests],
    },
  );
  assert.is(config.serverMetadata().issuer, server.base);
  // Watch how the library authenticates at the back channel (its default, not something we chose).
  const sent: { url: string; authorization: string | null; form: URLSearchParams }[] = [];
  config[client.customFetch] = async (url, options) => {
    const headers = new Headers(options.headers);
    sent.push({
      url,
      authorization: headers.get('authorization'),
      form: new URLSearchParams(String(options.body ?? '')),
    });
    // (openid-client's body type is wider than lib.dom's; it only sends form strings here.)
    return fetch(url, options as RequestInit);
  };

  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid email profile mcp:tools:read',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const callback = await signInAndApprove(server, url);

  // The exchange authenticates with client_secret_post (openid-client's default) and checks iss
  // (RFC 9207), state, PKCE and the ID token.
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  assert.type(tokens.access_token, 'string');
  assert.type(tokens.refresh_token, 'string');
  const claims = tokens.claims()!;
  assert.is(claims.iss, server.base);
  assert.is(claims.aud, created.client.clientId);
  const admin = await server.services.users.byEmail(server.adminEmail);
  assert.is(claims.sub, admin!.id);

  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.is(info.sub, admin!.id);
  assert.is(info.email, server.adminEmail);

  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
  assert.type(refreshed.access_token, 'string');
  assert.type(refreshed.refresh_token, 'string');
  assert.is.not(refreshed.refresh_token, tokens.refresh_token);

  const introspected = await client.tokenIntrospection(config, refreshed.access_token);
  assert.is(introspected.active, true);
  assert.is(introspected.client_id, created.client.clientId);
  assert.is(introspected.sub, admin!.id);
  // RFC 7662 for its own refresh token: active, with the claims the issue of it decided.
  const refreshInfo = await client.tokenIntrospection(config, refreshed.refresh_token!);
  assert.is(refreshInfo.active, true);
  assert.is(refreshInfo.client_id, created.client.clientId);
  assert.is(refreshInfo.token_type, 'refresh_token');
  assert.type(refreshInfo.exp, 'number');

  await client.tokenRevocation(config, refreshed.refresh_token!);
  // RFC 7009 §2.1: revoking the refresh token ends the grant; the refresh token is refused afterwards.
  try {
    await client.refreshTokenGrant(config, refreshed.refresh_token!);
    assert.unreachable('a revoked refresh token was accepted');
  } catch (error) {
    assert.instance(error, client.ResponseBodyError);
    assert.is((error as client.ResponseBodyError).error, 'invalid_grant');
  }
  assert.is((await client.tokenIntrospection(config, refreshed.access_token)).active, false);
  assert.is((await client.tokenIntrospection(config, refreshed.refresh_token!)).active, false);

  // Every back-channel call was client_secret_post: the secret in the form, no Authorization header.
  const backChannel = sent.filter(({ url }) => /\/oauth\/(token|introspect|revoke)$/.test(url));
  assert.is(backChannel.length, 8);
  for (const request of backChannel) {
    assert.is(request.authorization, null, request.url);
    assert.is(request.form.get('client_id'), created.client.clientId, request.url);
    assert.is(request.form.get('client_secret'), created.clientSecret, request.url);
  }
});

test('with a wrong secret, openid-client gets invalid_client with the reason', async ({ server }) => {
  const created = await server.services.oauth.createConfidentialClient(
    { name: 'openid-client wrong secret', redirectUris: [REDIRECT] },
    { type: 'system', id: 'test' },
  );
  const config = await client.discovery(new URL(server.base), created.client.clientId, 'not-the-secret', undefined, {
    execute: [client.allowInsecureRequests],
  });
  try {
    await client.tokenIntrospection(config, 'x');
    assert.unreachable('a wrong secret was accepted');
  } catch (error) {
    assert.instance(error, client.ResponseBodyError);
    const body = error as client.ResponseBodyError;
    assert.is(body.status, 401);
    assert.is(body.error, 'invalid_client');
    assert.is(body.error_description, 'the client secret is wrong');
  }
});

test.run();
