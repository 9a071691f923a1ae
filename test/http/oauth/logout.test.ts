// OpenID Connect RP-Initiated Logout 1.0 over real HTTP: end_session_endpoint in discovery, the
// id_token_hint and post_logout_redirect_uri rules, the confirmation page and its CSRF check, and
// that only the browser's sign-in ends (the grant's refresh token keeps working).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SignJWT, generateKeyPair } from 'jose';
import { startTestServer, type TestServer } from '../../support/server.ts';
import {
  authorize,
  authorizeUrl,
  Browser,
  csrfOf,
  eventCount,
  eventsSince,
  formAction,
  obtainCode,
  pkce,
  redeemCode,
  refreshRequest,
  typesOf,
} from './support.ts';

const REDIRECT = 'http://127.0.0.1:9999/callback';
const AFTER_LOGOUT = 'http://127.0.0.1:9999/signed-out';

type Context = { server: TestServer };
const test = suite<Context>('oauth: RP-Initiated Logout');

test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.stop());

/** A client with a registered post-logout URI, signed in through `browser`; returns its tokens. */
const signedIn = async (server: TestServer, browser = new Browser(server.base)) => {
  const { client } = await server.services.oauth.clients.register(
    {
      clientName: 'Logout client',
      redirectUris: [REDIRECT],
      postLogoutRedirectUris: [AFTER_LOGOUT],
      grantTypes: ['authorization_code', 'refresh_token'],
      tokenEndpointAuthMethod: 'none',
      applicationType: 'web',
    },
    'dynamic',
    { type: 'system', id: 'test' },
  );
  const { verifier, challenge } = pkce();
  const params = {
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: REDIRECT,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    scope: 'openid email mcp:tools:read',
    state: 's',
  };
  const callback = await obtainCode(server, params, undefined, browser);
  const exchange = await redeemCode(server.base, {
    code: callback.searchParams.get('code')!,
    verifier,
    client_id: client.clientId,
  });
  assert.is(exchange.status, 200);
  const tokens = exchange.body as { id_token: string; refresh_token: string };
  assert.type(tokens.id_token, 'string');
  assert.type(tokens.refresh_token, 'string');
  return { clientId: client.clientId, tokens, browser, params: { ...params, code_challenge: pkce().challenge } };
};

const logoutUrl = (base: string, params: Record<string, string>) => {
  const url = new URL('/oauth/logout', base);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.toString();
};

/** Where a fresh authorize request of this browser goes: the login page when it is signed out. */
const authorizeGoesTo = async (server: TestServer, browser: Browser, params: Record<string, string>) => {
  const response = await browser.get(authorizeUrl(server.base, params));
  assert.is(response.status, 303);
  return new URL(response.headers.get('location')!).pathname;
};

test('discovery (OIDC and RFC 8414) lists end_session_endpoint', async ({ server }) => {
  for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
    const body = (await (await fetch(`${server.base}${path}`)).json()) as Record<string, unknown>;
    assert.is(body.end_session_endpoint, `${server.base}/oauth/logout`);
  }
});

test('valid id_token_hint + registered URI: 303 there with state; session ended; grant still works', async ({
  server,
}) => {
  const { clientId, tokens, browser, params } = await signedIn(server);
  assert.is(await authorizeGoesTo(server, browser, params), '/callback', 'signed in before');
  const before = await eventCount(server);
  const response = await browser.get(
    logoutUrl(server.base, { id_token_hint: tokens.id_token, post_logout_redirect_uri: AFTER_LOGOUT, state: 'xyz' }),
  );
  assert.is(response.status, 303);
  assert.is(response.headers.get('location'), `${AFTER_LOGOUT}?state=xyz`);
  const events = await eventsSince(server, before);
  assert.equal(typesOf(events), ['BrowserSessionEnded']);
  assert.is((events[0]!.data as { reason: string }).reason, 'logout');
  const admin = await server.services.users.byEmail(server.adminEmail);
  assert.equal(events[0]!.metadata.actor, { type: 'user', id: admin!.id });
  // The browser must sign in again…
  assert.is(await authorizeGoesTo(server, browser, params), '/oauth/login');
  // …and the grant stays: its refresh token still works.
  const refreshed = await refreshRequest(server.base, clientId, tokens.refresh_token);
  assert.is(refreshed.status, 200);
  assert.type(refreshed.body.access_token, 'string');
});

test('POST form of the request works like GET (§2)', async ({ server }) => {
  const { tokens, browser } = await signedIn(server);
  const response = await browser.post(
    '/oauth/logout',
    { id_token_hint: tokens.id_token, post_logout_redirect_uri: AFTER_LOGOUT },
    { origin: 'http://127.0.0.1:9999' },
  );
  assert.is(response.status, 303);
  assert.is(response.headers.get('location'), AFTER_LOGOUT);
});

test('hint without a post_logout_redirect_uri: 200 "You are signed out" page, no redirect', async ({ server }) => {
  const { tokens, browser, params } = await signedIn(server);
  const response = await browser.get(logoutUrl(server.base, { id_token_hint: tokens.id_token }));
  assert.is(response.status, 200);
  assert.is(response.headers.get('location'), null);
  assert.ok((await response.text()).includes('You are signed out'));
  assert.is(await authorizeGoesTo(server, browser, params), '/oauth/login');
});

test('unregistered post_logout_redirect_uri: 400 page, no redirect, nothing ended', async ({ server }) => {
  const { clientId, tokens, browser, params } = await signedIn(server);
  const before = await eventCount(server);
  for (const query of [
    { id_token_hint: tokens.id_token, post_logout_redirect_uri: 'https://evil.example/phish', state: 'x' },
    { client_id: clientId, post_logout_redirect_uri: `${AFTER_LOGOUT}/other` },
    // Without a client there is nothing to match the URI against.
    { post_logout_redirect_uri: AFTER_LOGOUT },
    // Echoed exactly or not at all: an over-long state is refused, not cut short.
    { id_token_hint: tokens.id_token, post_logout_redirect_uri: AFTER_LOGOUT, state: 'x'.repeat(4_001) },
  ]) {
    const response = await browser.get(logoutUrl(server.base, query));
    assert.is(response.status, 400, JSON.stringify(query));
    assert.is(response.headers.get('location'), null);
    const html = await response.text();
    assert.ok(html.includes('Error: <code>invalid_request</code>'));
    assert.not.ok(html.includes('evil.example'));
  }
  assert.equal(typesOf(await eventsSince(server, before)), []);
  assert.is(await authorizeGoesTo(server, browser, params), '/callback', 'still signed in');
});

test('client_id that does not match the hint: 400 page, nothing ended', async ({ server }) => {
  const first = await signedIn(server);
  const other = await signedIn(server, new Browser(server.base));
  const before = await eventCount(server);
  const response = await first.browser.get(
    logoutUrl(server.base, { id_token_hint: first.tokens.id_token, client_id: other.clientId }),
  );
  assert.is(response.status, 400);
  assert.ok((await response.text()).includes('client_id does not match the id_token_hint'));
  assert.equal(typesOf(await eventsSince(server, before)), []);
});

test('forged, foreign or access-token hints count as absent: confirmation page, nothing ended', async ({ server }) => {
  const { clientId, tokens, browser, params } = await signedIn(server);
  const [header, payload] = tokens.id_token.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
  const { privateKey } = await generateKeyPair('ES256');
  const kid = (JSON.parse(Buffer.from(header!, 'base64url').toString()) as { kid: string }).kid;
  const access = (await refreshRequest(server.base, clientId, tokens.refresh_token)).body.access_token as string;
  const hints = {
    // Our kid and claims, someone else's key.
    forged: await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid }).sign(privateKey),
    // Another OP's ID token (its own key and issuer):
    foreign: await new SignJWT({ ...claims, iss: 'https://other.example' })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: 'other' })
      .sign(privateKey),
    // Our access token (typ at+jwt) is not an ID token.
    accessToken: access,
    tampered: `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url')}.${tokens.id_token.split('.')[2]}`,
    garbage: 'not-a-jwt',
  };
  const before = await eventCount(server);
  for (const [name, hint] of Object.entries(hints)) {
    const response = await browser.get(
      logoutUrl(server.base, { id_token_hint: hint, client_id: clientId, post_logout_redirect_uri: AFTER_LOGOUT }),
    );
    assert.is(response.status, 200, name);
    assert.is(response.headers.get('location'), null, name);
    const html = await response.text();
    assert.ok(html.includes('Sign out of RemoteMCP?'), name);
    assert.is(formAction(html), `${server.base}/oauth/logout/confirm`);
  }
  assert.equal(typesOf(await eventsSince(server, before)), []);
  assert.is(await authorizeGoesTo(server, browser, params), '/callback', 'still signed in');
});

test('an expired ID token of ours is a valid hint (§2)', async ({ server }) => {
  const { clientId, browser, params } = await signedIn(server);
  const admin = await server.services.users.byEmail(server.adminEmail);
  const { signIdToken } = await import('../../../app/oauth/tokens.ts');
  const expired = await signIdToken(server.services.oauth.keys, {
    issuer: server.base,
    subject: admin!.id,
    clientId,
    issuedAt: new Date(Date.now() - 7_200_000),
    expiresAt: new Date(Date.now() - 3_600_000),
    authTime: undefined,
    nonce: undefined,
    extra: {},
  });
  const response = await browser.get(
    logoutUrl(server.base, { id_token_hint: expired, post_logout_redirect_uri: AFTER_LOGOUT }),
  );
  assert.is(response.status, 303);
  assert.is(response.headers.get('location'), AFTER_LOGOUT);
  assert.is(await authorizeGoesTo(server, browser, params), '/oauth/login');
});

test("a valid hint for another user asks first (no drive-by sign-out with one's own ID token)", async ({ server }) => {
  await server.services.users.create(
    { email: 'mallory@example.test', password: 'mallory-password-1' },
    { type: 'system', id: 'test' },
  );
  // Mallory's own ID token, used against the admin's browser.
  const victim = await signedIn(server);
  const malloryTokens = await (async () => {
    const browser = new Browser(server.base);
    const { client } = await server.services.oauth.clients.register(
      {
        clientName: 'Mallory app',
        redirectUris: [REDIRECT],
        postLogoutRedirectUris: [AFTER_LOGOUT],
        grantTypes: ['authorization_code'],
        tokenEndpointAuthMethod: 'none',
        applicationType: 'web',
      },
      'dynamic',
      { type: 'system', id: 'test' },
    );
    const { verifier, challenge } = pkce();
    const callback = await obtainCode(
      server,
      {
        response_type: 'code',
        client_id: client.clientId,
        redirect_uri: REDIRECT,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        scope: 'openid',
      },
      { email: 'mallory@example.test', password: 'mallory-password-1' },
      browser,
    );
    const exchange = await redeemCode(server.base, {
      code: callback.searchParams.get('code')!,
      verifier,
      client_id: client.clientId,
    });
    return exchange.body as { id_token: string };
  })();
  const before = await eventCount(server);
  const response = await victim.browser.get(
    logoutUrl(server.base, { id_token_hint: malloryTokens.id_token, post_logout_redirect_uri: AFTER_LOGOUT }),
  );
  assert.is(response.status, 200);
  assert.ok((await response.text()).includes('Sign out of RemoteMCP?'));
  assert.equal(typesOf(await eventsSince(server, before)), []);
  assert.is(await authorizeGoesTo(server, victim.browser, victim.params), '/callback');
});

test('confirmation: POST without CSRF is 403 and ends nothing; with it, 303 to the URI with state', async ({
  server,
}) => {
  const { clientId, browser, params } = await signedIn(server);
  const page = await browser.get(
    logoutUrl(server.base, { client_id: clientId, post_logout_redirect_uri: AFTER_LOGOUT, state: 'st8' }),
  );
  assert.is(page.status, 200);
  const html = await page.text();
  const before = await eventCount(server);
  const form = { client_id: clientId, post_logout_redirect_uri: AFTER_LOGOUT, state: 'st8' };
  // No token, a wrong token, and the right token from another site.
  for (const [body, headers] of [
    [form, { origin: server.base }],
    [{ ...form, csrf: 'x'.repeat(43) }, { origin: server.base }],
    [{ ...form, csrf: csrfOf(html) }, { origin: 'https://evil.example' }],
  ] as const) {
    const refused = await browser.post('/oauth/logout/confirm', body, headers);
    assert.is(refused.status, 403);
    assert.is(refused.headers.get('location'), null);
  }
  assert.equal(typesOf(await eventsSince(server, before)), []);
  assert.is(await authorizeGoesTo(server, browser, params), '/callback', 'still signed in');
  const beforeConfirm = await eventCount(server);
  // The form on the page re-checks the URI: a tampered hidden field is refused like on GET.
  const tampered = await browser.post('/oauth/logout/confirm', {
    ...form,
    post_logout_redirect_uri: 'https://evil.example/',
    csrf: csrfOf(html),
  });
  assert.is(tampered.status, 400);
  assert.is(tampered.headers.get('location'), null);
  const confirmed = await browser.post(formAction(html), {
    csrf: csrfOf(html),
    client_id: clientId,
    post_logout_redirect_uri: AFTER_LOGOUT,
    state: 'st8',
  });
  assert.is(confirmed.status, 303);
  assert.is(confirmed.headers.get('location'), `${AFTER_LOGOUT}?state=st8`);
  assert.equal(typesOf(await eventsSince(server, beforeConfirm)), ['BrowserSessionEnded']);
  assert.is(await authorizeGoesTo(server, browser, params), '/oauth/login');
});

test('registration: post_logout_redirect_uris is stored, returned, and validated like redirect_uris', async ({
  server,
}) => {
  const ok = await fetch(`${server.base}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: 'none',
      post_logout_redirect_uris: [AFTER_LOGOUT],
    }),
  });
  assert.is(ok.status, 201);
  const body = (await ok.json()) as { client_id: string; post_logout_redirect_uris: string[] };
  assert.equal(body.post_logout_redirect_uris, [AFTER_LOGOUT]);
  assert.equal((await server.services.oauth.clients.find(body.client_id))?.postLogoutRedirectUris, [AFTER_LOGOUT]);
  const bad = await fetch(`${server.base}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: 'none',
      post_logout_redirect_uris: ['http://evil.example/after'],
    }),
  });
  assert.is(bad.status, 400);
  assert.is(((await bad.json()) as { error: string }).error, 'invalid_client_metadata');
});

test.run();
