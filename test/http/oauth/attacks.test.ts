// RFC 9700 attacks against the code flow and the token endpoint, one test each: exact status, `error`
// code, and which events were (or were not) written.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../../support/server.ts';
import type { Client } from '../../../domain/clients/index.ts';
import {
  authorize,
  authorizeUrl,
  Browser,
  codeFor,
  codeRequest,
  consent,
  eventCount,
  errorPage,
  eventsSince,
  freshTokens,
  login,
  pkce,
  publicClient,
  REDIRECT,
  reasonOf,
  redeemCode,
  refreshRequest,
  revokeRequest,
  tokenRequest,
  typesOf,
  vettedClient,
} from './support.ts';

const test = suite<{ server: TestServer; mcp: string }>('oauth: RFC 9700 attacks on code and token');

test.before(async (context) => {
  context.server = await startTestServer();
  context.mcp = `${context.server.base}/mcp`;
});
test.after(async ({ server }) => server.stop());

const grantEvents = async (server: TestServer, since: number) =>
  typesOf((await eventsSince(server, since)).filter((event) => event.stream.startsWith('oauth-grant-')));

test('code replay: second use → 400 invalid_grant, GrantRevoked(code_replay), tokens from the first use refused', async ({
  server,
  mcp,
}) => {
  const { client, code, verifier, tokens } = await freshTokens(server);
  const since = await eventCount(server);
  const replay = await redeemCode(server.base, { code, verifier, client_id: client.client_id });
  assert.is(replay.status, 400);
  assert.is(replay.body.error, 'invalid_grant');
  const written = (await eventsSince(server, since)).filter((event) => event.stream.startsWith('oauth-grant-'));
  assert.equal(typesOf(written), ['GrantRevoked']);
  assert.is((written[0]!.data as { reason: string }).reason, 'code_replay');
  assert.is(await reasonOf(server.services.oauth.verifier.verify(tokens.access_token, mcp)), 'revoked');
  const refresh = await refreshRequest(server.base, client.client_id, tokens.refresh_token);
  assert.is(refresh.status, 400);
  assert.is(refresh.body.error, 'invalid_grant');
  // A third attempt changes nothing more.
  const third = await redeemCode(server.base, { code, verifier, client_id: client.client_id });
  assert.is(third.body.error, 'invalid_grant');
});

for (const [name, params] of [
  ['missing PKCE', { code_challenge: undefined, code_challenge_method: undefined }],
  ['plain PKCE', { code_challenge_method: 'plain' }],
  ['PKCE without method (defaults to plain)', { code_challenge_method: undefined }],
] as const) {
  test(`${name} → error redirect invalid_request with state and iss, no code, no events`, async ({ server }) => {
    const client = await publicClient(server);
    const since = await eventCount(server);
    const response = await authorize(
      server,
      codeRequest(client.client_id, pkce().challenge, {
        state: 'xyz',
        ...(params as Record<string, string | undefined>),
      }),
    );
    assert.is(response.status, 303);
    const location = new URL(response.headers.get('location')!);
    assert.is(location.origin + location.pathname, REDIRECT);
    assert.is(location.searchParams.get('error'), 'invalid_request');
    assert.is(location.searchParams.get('state'), 'xyz');
    assert.is(location.searchParams.get('iss'), server.base);
    assert.is(location.searchParams.get('code'), null);
    assert.equal(await grantEvents(server, since), []);
  });
}

test('PKCE: wrong verifier → invalid_grant; missing verifier → invalid_request; the code then still works once', async ({
  server,
}) => {
  const client = await publicClient(server);
  const { code, verifier } = await codeFor(server, client.client_id);
  const wrong = await redeemCode(server.base, { code, verifier: pkce().verifier, client_id: client.client_id });
  assert.is(wrong.status, 400);
  assert.is(wrong.body.error, 'invalid_grant');
  const missing = await redeemCode(server.base, { code, client_id: client.client_id });
  assert.is(missing.status, 400);
  assert.is(missing.body.error, 'invalid_request');
  const right = await redeemCode(server.base, { code, verifier, client_id: client.client_id });
  assert.is(right.status, 200);
});

const REDIRECT_VARIANTS: [string, string][] = [
  ['different host', 'http://127.0.0.2:9999/callback'],
  ['different host name', 'https://evil.example/callback'],
  ['path suffix', `${REDIRECT}/../evil`],
  ['longer path', `${REDIRECT}x`],
  ['extra query', `${REDIRECT}?next=https://evil.example`],
  ['userinfo trick', 'http://127.0.0.1:9999@evil.example/callback'],
  ['fragment', `${REDIRECT}#frag`],
  ['http non-loopback', 'http://evil.example/callback'],
  ['javascript scheme', 'javascript:alert(1)//127.0.0.1:9999/callback'],
  ['encoded path', 'http://127.0.0.1:9999/%63allback'],
];

for (const [name, uri] of REDIRECT_VARIANTS) {
  test(`redirect_uri ${name} → 400 page, no Location, no events`, async ({ server }) => {
    const client = await publicClient(server);
    const since = await eventCount(server);
    const response = await authorize(server, codeRequest(client.client_id, pkce().challenge, { redirect_uri: uri }));
    assert.is(response.status, 400);
    assert.is(response.headers.get('location'), null);
    assert.match(await response.text(), /redirect_uri/);
    assert.equal(await grantEvents(server, since), []);
  });
}

test('authorize by POST (OIDC Core §3.1.2.1) validates the same way', async ({ server }) => {
  const client = await publicClient(server);
  const browser = new Browser(server.base);
  const ok = await browser.post(
    '/oauth/authorize',
    {
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: REDIRECT,
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    },
    {},
  );
  assert.is(ok.status, 303);
  assert.match(ok.headers.get('location')!, /\/oauth\/login\?request=/);
  const bad = await browser.post(
    '/oauth/authorize',
    { response_type: 'code', client_id: client.client_id, redirect_uri: 'https://evil.example/cb' },
    {},
  );
  assert.is(bad.status, 400);
  assert.is(bad.headers.get('location'), null);
});

test('loopback redirect: any port matches (RFC 8252 §7.3), but nothing else changes', async ({ server }) => {
  const client = await publicClient(server);
  const response = await authorize(
    server,
    codeRequest(client.client_id, pkce().challenge, { redirect_uri: 'http://127.0.0.1:5555/callback' }),
  );
  assert.is(response.status, 303);
  assert.match(response.headers.get('location')!, /\/oauth\/login\?request=/);
});

test('unknown client_id / missing client_id → 400 page, never a redirect (open redirect)', async ({ server }) => {
  for (const client_id of ['nope', undefined]) {
    const response = await authorize(
      server,
      codeRequest(client_id, pkce().challenge, { redirect_uri: 'https://evil.example/cb' }),
    );
    assert.is(response.status, 400);
    assert.is(response.headers.get('location'), null);
  }
});

test('open redirect: an error with an unregistered redirect_uri is a page, even for a bad response_type', async ({
  server,
}) => {
  const client = await publicClient(server);
  const response = await authorize(server, {
    response_type: 'token',
    client_id: client.client_id,
    redirect_uri: 'https://evil.example/cb',
  });
  assert.is(response.status, 400);
  assert.is(response.headers.get('location'), null);
  // RFC 9700 §4.11.2: a registered but unvetted (dynamically registered) redirect URI gets a page too.
  const good = await authorize(server, { response_type: 'token', client_id: client.client_id, redirect_uri: REDIRECT });
  const back = await errorPage(good, 'unsupported_response_type');
  assert.is(back.origin + back.pathname, REDIRECT);
  assert.is(back.searchParams.get('error'), 'unsupported_response_type');
  // A client an admin registered is trusted: the error goes back at once.
  const vetted = await vettedClient(server);
  const trusted = await authorize(server, {
    response_type: 'token',
    client_id: vetted.client_id,
    redirect_uri: REDIRECT,
  });
  assert.is(trusted.status, 303);
  assert.is(new URL(trusted.headers.get('location')!).searchParams.get('error'), 'unsupported_response_type');
});

test('redirect_uri at the token endpoint must equal the one authorized → invalid_grant', async ({ server }) => {
  const client = await publicClient(server, REDIRECT, { redirect_uris: [REDIRECT, 'http://127.0.0.1:9999/other'] });
  const { code, verifier } = await codeFor(server, client.client_id);
  const response = await redeemCode(
    server.base,
    { code, verifier, client_id: client.client_id },
    { redirect_uri: 'http://127.0.0.1:9999/other' },
  );
  assert.is(response.status, 400);
  assert.is(response.body.error, 'invalid_grant');
});

test('a code issued to one client cannot be redeemed by another → invalid_grant', async ({ server }) => {
  const client = await publicClient(server);
  const other = await publicClient(server);
  const { code, verifier } = await codeFor(server, client.client_id);
  const response = await redeemCode(server.base, { code, verifier, client_id: other.client_id });
  assert.is(response.body.error, 'invalid_grant');
});

test('expired code → invalid_grant, nothing revoked', async ({ server }) => {
  const client = await publicClient(server);
  const { code, verifier } = await codeFor(server, client.client_id);
  const found = (await server.services.oauth.clients.find(client.client_id)) as Client;
  const since = await eventCount(server);
  const later = new Date(Date.now() + server.services.config.authCodeTtlMs + 1_000);
  const error = await reasonOf(
    server.services.oauth.tokens.exchangeCode(
      found,
      { code, redirectUri: REDIRECT, codeVerifier: verifier, resource: undefined },
      later,
    ),
  );
  assert.is(error, 'invalid_grant');
  assert.equal(await grantEvents(server, since), []);
});

test('resource: another resource → invalid_target (authorize redirect and token endpoint); trailing slash is the same resource', async ({
  server,
  mcp,
}) => {
  const client = await publicClient(server);
  const wrong = await authorize(
    server,
    codeRequest(client.client_id, pkce().challenge, { resource: 'https://evil.example/mcp' }),
  );
  // Before any user interaction, for an unvetted client: a page, not a redirect (RFC 9700 §4.11.2).
  assert.is((await errorPage(wrong, 'invalid_target')).searchParams.get('error'), 'invalid_target');
  const { code, verifier } = await codeFor(server, client.client_id, { resource: `${mcp}/` });
  const atToken = await redeemCode(
    server.base,
    { code, verifier, client_id: client.client_id },
    { resource: `${server.base}/admin` },
  );
  assert.is(atToken.status, 400);
  assert.is(atToken.body.error, 'invalid_target');
  const ok = await redeemCode(server.base, { code, verifier, client_id: client.client_id }, { resource: mcp });
  const info = await server.services.oauth.verifier.verify(String(ok.body.access_token), mcp);
  assert.equal(info.audience, [mcp]);
  assert.is(
    await reasonOf(server.services.oauth.verifier.verify(String(ok.body.access_token), `${server.base}/other`)),
    'wrong_audience',
  );
});

test('scope widening on refresh → invalid_scope; narrowing works', async ({ server }) => {
  const { client, tokens } = await freshTokens(server, { scope: 'mcp:tools:read' });
  const wider = await refreshRequest(server.base, client.client_id, tokens.refresh_token, {
    scope: 'mcp:tools:read mcp:tools:write',
  });
  assert.is(wider.status, 400);
  assert.is(wider.body.error, 'invalid_scope');
  const unknown = await tokenRequest(server.base, {
    grant_type: 'authorization_code',
    code: 'x',
    client_id: client.client_id,
    code_verifier: pkce().verifier,
  });
  assert.is(unknown.body.error, 'invalid_grant');
});

test('refresh rotation: the old token works within the grace window; after it, reuse revokes the whole grant', async ({
  server,
  mcp,
}) => {
  const { client, tokens } = await freshTokens(server);
  const first = await refreshRequest(server.base, client.client_id, tokens.refresh_token);
  assert.is(first.status, 200);
  assert.is(first.headers.get('cache-control'), 'no-store');
  // A parallel refresh with the same (now rotated) token inside the grace window still succeeds.
  const parallel = await refreshRequest(server.base, client.client_id, tokens.refresh_token);
  assert.is(parallel.status, 200);
  const found = (await server.services.oauth.clients.find(client.client_id)) as Client;
  const since = await eventCount(server);
  const afterGrace = new Date(Date.now() + 31_000);
  assert.is(
    await reasonOf(
      server.services.oauth.tokens.refresh(
        found,
        { refreshToken: tokens.refresh_token, scope: undefined, resource: undefined },
        afterGrace,
      ),
    ),
    'invalid_grant',
  );
  const written = (await eventsSince(server, since)).filter((event) => event.stream.startsWith('oauth-grant-'));
  assert.equal(typesOf(written), ['GrantRevoked']);
  assert.is((written[0]!.data as { reason: string }).reason, 'refresh_reuse');
  const newest = await refreshRequest(server.base, client.client_id, String(first.body.refresh_token));
  assert.is(newest.body.error, 'invalid_grant');
  assert.is(await reasonOf(server.services.oauth.verifier.verify(String(first.body.access_token), mcp)), 'revoked');
});

test('five parallel refreshes with the same token all succeed (grace window + optimistic concurrency)', async ({
  server,
}) => {
  const { client, tokens } = await freshTokens(server);
  const results = await Promise.all(
    Array.from({ length: 5 }, () => refreshRequest(server.base, client.client_id, tokens.refresh_token)),
  );
  assert.equal(
    results.map((result) => result.status),
    [200, 200, 200, 200, 200],
  );
  assert.is(new Set(results.map((result) => result.body.refresh_token)).size, 5);
});

test('revoking a refresh token (RFC 7009 §2.1) revokes its grant and the access tokens; another client cannot revoke', async ({
  server,
  mcp,
}) => {
  const { client, tokens } = await freshTokens(server);
  const other = await publicClient(server);
  const foreign = await revokeRequest(server.base, tokens.access_token, other.client_id);
  assert.is(foreign.status, 200);
  assert.ok(await server.services.oauth.verifier.verify(tokens.access_token, mcp));
  const unknown = await revokeRequest(server.base, 'garbage', client.client_id);
  assert.is(unknown.status, 200);
  const revoked = await revokeRequest(server.base, tokens.refresh_token, client.client_id);
  assert.is(revoked.status, 200);
  assert.is(await reasonOf(server.services.oauth.verifier.verify(tokens.access_token, mcp)), 'revoked');
});

test('a disabled user: tokens refused by the verifier, refresh → invalid_grant', async ({ server, mcp }) => {
  const email = 'disabled-later@example.test';
  await server.services.users.create({ email, password: 'password-1234' }, { type: 'system', id: 'test' });
  const { client, tokens } = await freshTokens(server, { user: { email, password: 'password-1234' } });
  await server.services.users.disable(email, { type: 'system', id: 'test' });
  assert.is(await reasonOf(server.services.oauth.verifier.verify(tokens.access_token, mcp)), 'revoked');
  const refresh = await refreshRequest(server.base, client.client_id, tokens.refresh_token);
  assert.is(refresh.status, 400);
  assert.is(refresh.body.error, 'invalid_grant');
});

test('a deleted client: its tokens are refused, its refresh token is invalid_client', async ({ server, mcp }) => {
  const { client, tokens } = await freshTokens(server);
  assert.ok(await server.services.oauth.verifier.verify(tokens.access_token, mcp));
  assert.is(await server.services.oauth.clients.delete(client.client_id, { type: 'system', id: 'test' }), true);
  assert.is(await reasonOf(server.services.oauth.verifier.verify(tokens.access_token, mcp)), 'revoked');
  const refresh = await refreshRequest(server.base, client.client_id, tokens.refresh_token);
  assert.is(refresh.status, 401);
  assert.is(refresh.body.error, 'invalid_client');
});

test('admin/CLI revokeToken: by access token, by refresh token (whole grant); unknown input is a no-op', async ({
  server,
  mcp,
}) => {
  const admin = { type: 'system', id: 'test' } as const;
  const first = await freshTokens(server);
  assert.is(await server.services.oauth.revokeToken(first.tokens.access_token, admin), true);
  assert.is(await reasonOf(server.services.oauth.verifier.verify(first.tokens.access_token, mcp)), 'revoked');
  const second = await freshTokens(server);
  assert.is(await server.services.oauth.revokeToken(second.tokens.refresh_token, admin), true);
  assert.is(await reasonOf(server.services.oauth.verifier.verify(second.tokens.access_token, mcp)), 'revoked');
  assert.is(await server.services.oauth.revokeToken('garbage', admin), false);
});

test('token endpoint: unsupported grant type, public client posing with a secret, introspection by a public client', async ({
  server,
}) => {
  const client = await publicClient(server);
  const implicit = await tokenRequest(server.base, {
    grant_type: 'password',
    client_id: client.client_id,
    username: 'a',
    password: 'b',
  });
  assert.is(implicit.body.error, 'unsupported_grant_type');
  const withSecret = await tokenRequest(server.base, {
    grant_type: 'client_credentials',
    client_id: client.client_id,
    client_secret: 'x',
  });
  assert.is(withSecret.status, 401);
  assert.is(withSecret.body.error, 'invalid_client');
  const publicCc = await tokenRequest(server.base, { grant_type: 'client_credentials', client_id: client.client_id });
  assert.is(publicCc.body.error, 'unauthorized_client');
  const introspect = await fetch(`${server.base}/oauth/introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: 'x', client_id: client.client_id }),
  });
  assert.is(introspect.status, 401);
  assert.is(((await introspect.json()) as { error: string }).error, 'invalid_client');
});

test('consent denied → access_denied redirect with state and iss; prompt=none without a session → login_required page', async ({
  server,
}) => {
  const client = await publicClient(server);
  const params = codeRequest(client.client_id, pkce().challenge, { state: 'abc' });
  const none = await authorize(server, { ...params, prompt: 'none' });
  assert.is((await errorPage(none, 'login_required')).searchParams.get('state'), 'abc');
  const browser = new Browser(server.base);
  const start = await browser.get(authorizeUrl(server.base, params));
  const loggedIn = await login(browser, start.headers.get('location')!, server.adminEmail, server.adminPassword);
  const denied = await consent(browser, loggedIn.headers.get('location')!, 'deny');
  const location = new URL(denied.headers.get('location')!);
  assert.is(location.searchParams.get('error'), 'access_denied');
  assert.is(location.searchParams.get('state'), 'abc');
  assert.is(location.searchParams.get('iss'), server.base);
  assert.is(location.searchParams.get('code'), null);
});

test.run();
