// A full authorization code flow with a real OAuth client library (oauth4webapi) against the real
// server: discovery, registration, login + consent over HTTP, code exchange, refresh, userinfo,
// introspection, revocation, and the /mcp token check.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as oauth from 'oauth4webapi';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { authorizeUrl, basic, Browser, consent, eventCount, eventsSince, login, typesOf } from './support.ts';

const REDIRECT = 'http://127.0.0.1:45678/callback';
const insecure = { [oauth.allowInsecureRequests]: true } as const;

type Context = { server: TestServer; as: oauth.AuthorizationServer };
const test = suite<Context>('oauth: full code flow with oauth4webapi');

test.before(async (context) => {
  context.server = await startTestServer();
  const issuer = new URL(context.server.base);
  context.as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
  );
});
test.after(async ({ server }) => server.stop());

test('discovery: issuer is PUBLIC_URL exactly; S256 only; OIDC discovery is the same document', async ({
  server,
  as,
}) => {
  assert.is(as.issuer, server.base);
  assert.equal(as.code_challenge_methods_supported, ['S256']);
  assert.equal(as.response_types_supported, ['code']);
  assert.ok(as.grant_types_supported?.includes('refresh_token'));
  assert.is(as.authorization_response_iss_parameter_supported, true);
  assert.is((as as Record<string, unknown>).client_id_metadata_document_supported, true);
  assert.ok(as.token_endpoint_auth_methods_supported?.includes('none'));
  const oidc = await (await fetch(`${server.base}/.well-known/openid-configuration`)).json();
  assert.equal(oidc, as);
});

test('protected resource metadata (RFC 9728) in both forms names PUBLIC_URL/mcp', async ({ server }) => {
  for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
    const body = (await (await fetch(`${server.base}${path}`)).json()) as Record<string, unknown>;
    assert.is(body.resource, `${server.base}/mcp`);
    assert.equal(body.authorization_servers, [server.base]);
  }
});

test('code flow → tokens → refresh → userinfo → introspect → revoke; events at each step', async ({ server, as }) => {
  const registration = await oauth.processDynamicClientRegistrationResponse(
    await oauth.dynamicClientRegistrationRequest(
      as,
      {
        redirect_uris: [REDIRECT],
        token_endpoint_auth_method: 'none',
        client_name: 'oauth4webapi',
        scope: 'openid email mcp:tools:read mcp:tools:write',
      },
      insecure,
    ),
  );
  const client: oauth.Client = { client_id: registration.client_id };
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const browser = new Browser(server.base);
  const before = await eventCount(server);
  const start = await browser.get(
    authorizeUrl(server.base, {
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: REDIRECT,
      scope: 'openid email mcp:tools:read',
      state,
      nonce,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      resource: `${server.base}/mcp`,
    }),
  );
  assert.is(start.status, 303);
  assert.match(start.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  const loggedIn = await login(browser, start.headers.get('location')!, server.adminEmail, server.adminPassword);
  assert.is(loggedIn.status, 303);
  assert.match(loggedIn.headers.get('location')!, /\/oauth\/consent\?request=/);
  const consentPage = await (await browser.get(loggedIn.headers.get('location')!)).text();
  assert.match(consentPage, /oauth4webapi/);
  assert.match(consentPage, /127\.0\.0\.1:45678\/callback/);
  assert.match(consentPage, /mcp:tools:read/);
  const approved = await consent(browser, loggedIn.headers.get('location')!, 'approve');
  assert.is(approved.status, 303);
  const callback = new URL(approved.headers.get('location')!);
  assert.is(callback.origin + callback.pathname, REDIRECT);
  assert.is(callback.searchParams.get('iss'), server.base);
  const params = oauth.validateAuthResponse(as, client, callback, state);
  const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, REDIRECT, verifier, {
    ...insecure,
    additionalParameters: { resource: `${server.base}/mcp` },
  });
  assert.is(response.headers.get('cache-control'), 'no-store');
  // A token response is JSON for a program: the API headers, not a page's (no CSP for scripts and styles).
  assert.is(response.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'");
  assert.is(response.headers.get('x-content-type-options'), 'nosniff');
  assert.is(response.headers.get('x-frame-options'), 'DENY');
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, {
    expectedNonce: nonce,
    requireIdToken: true,
  });
  assert.ok(tokens.refresh_token, 'a refresh token without offline_access');
  assert.is(tokens.scope, 'openid email mcp:tools:read');
  const idClaims = oauth.getValidatedIdTokenClaims(tokens)!;
  assert.is(idClaims.nonce, nonce);
  assert.is(idClaims.email, server.adminEmail);

  // RFC 9068 validation by the client library itself.
  const claims = await oauth.validateJwtAccessToken(
    as,
    new Request(`${server.base}/mcp`, { headers: { authorization: `Bearer ${tokens.access_token}` } }),
    `${server.base}/mcp`,
    insecure,
  );
  assert.is(claims.client_id, client.client_id);
  assert.is(claims.iss, server.base);
  const info = await server.services.oauth.verifier.verify(tokens.access_token, `${server.base}/mcp`);
  assert.equal(info.scopes, ['openid', 'email', 'mcp:tools:read']);
  assert.is(info.subject, idClaims.sub);

  const written = typesOf(
    (await eventsSince(server, before)).filter((event) => event.stream.startsWith('oauth-grant-')),
  );
  assert.equal(written, [
    'AuthorizationRequested',
    'ConsentGiven',
    'AuthorizationCodeIssued',
    'AuthorizationCodeRedeemed',
  ]);

  const refreshed = await oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, insecure),
  );
  assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'rotated');

  const userinfo = await oauth.processUserInfoResponse(
    as,
    client,
    idClaims.sub,
    await oauth.userInfoRequest(as, client, refreshed.access_token, insecure),
  );
  assert.is(userinfo.email, server.adminEmail);

  const confidential = await server.services.oauth.createConfidentialClient(
    { name: 'resource server' },
    { type: 'system', id: 'test' },
  );
  // RFC 7662 §4: only a client an admin marked as resource server may introspect other clients' tokens.
  const rsAuth0 = oauth.ClientSecretBasic(confidential.clientSecret!);
  const unmarked = await oauth.processIntrospectionResponse(
    as,
    { client_id: confidential.client.clientId },
    await oauth.introspectionRequest(
      as,
      { client_id: confidential.client.clientId },
      rsAuth0,
      refreshed.access_token,
      insecure,
    ),
  );
  assert.is(unmarked.active, false);
  await server.services.oauth.clients.setResourceServer(confidential.client.clientId, true, {
    type: 'system',
    id: 'test',
  });
  const rs: oauth.Client = { client_id: confidential.client.clientId };
  const rsAuth = oauth.ClientSecretBasic(confidential.clientSecret!);
  const active = await oauth.processIntrospectionResponse(
    as,
    rs,
    await oauth.introspectionRequest(as, rs, rsAuth, refreshed.access_token, insecure),
  );
  assert.is(active.active, true);
  assert.is(active.client_id, client.client_id);

  await oauth.processRevocationResponse(
    await oauth.revocationRequest(as, client, oauth.None(), refreshed.access_token, insecure),
  );
  // Read your writes: refused at once on this instance.
  try {
    await server.services.oauth.verifier.verify(refreshed.access_token, `${server.base}/mcp`);
    assert.unreachable('revoked token accepted');
  } catch (error) {
    assert.is((error as { reason?: string }).reason, 'revoked');
  }
  const inactive = await oauth.processIntrospectionResponse(
    as,
    rs,
    await oauth.introspectionRequest(as, rs, rsAuth, refreshed.access_token, insecure),
  );
  assert.is(inactive.active, false);
  // The first access token (same grant, not revoked by an access-token revocation) still works.
  assert.ok(await server.services.oauth.verifier.verify(tokens.access_token, `${server.base}/mcp`));
});

test('remembered consent: a second authorization by the same user and client skips the consent page', async ({
  server,
}) => {
  const { client_id } = (await (
    await fetch(`${server.base}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }),
    })
  ).json()) as { client_id: string };
  const browser = new Browser(server.base);
  const params = {
    response_type: 'code',
    client_id,
    redirect_uri: REDIRECT,
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
    state: 's1',
  };
  const first = await browser.get(authorizeUrl(server.base, params));
  const loggedIn = await login(browser, first.headers.get('location')!, server.adminEmail, server.adminPassword);
  await consent(browser, loggedIn.headers.get('location')!, 'approve');
  const second = await browser.get(authorizeUrl(server.base, { ...params, state: 's2' }));
  assert.is(second.status, 303);
  const location = new URL(second.headers.get('location')!);
  assert.is(location.origin + location.pathname, REDIRECT);
  assert.ok(location.searchParams.get('code'));
  assert.is(location.searchParams.get('state'), 's2');
});

test('client_credentials for a machine client (sub = its service user); HTTP Basic with a wrong secret → 401 invalid_client + WWW-Authenticate: Basic', async ({
  server,
}) => {
  const created = await server.services.oauth.createMachineClient(
    { name: 'machine', userEmail: 'flow-bot@example.com' },
    { type: 'system', id: 'test' },
  );
  const ok = await fetch(`${server.base}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: basic(created.client.clientId, created.clientSecret!),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials&scope=mcp%3Atools%3Aread',
  });
  assert.is(ok.status, 200);
  const body = (await ok.json()) as Record<string, unknown>;
  assert.is(body.refresh_token, undefined);
  const info = await server.services.oauth.verifier.verify(String(body.access_token), `${server.base}/mcp`);
  assert.is(info.subject, created.serviceUser.id);
  const bad = await fetch(`${server.base}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: basic(created.client.clientId, 'wrong'),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  assert.is(bad.status, 401);
  assert.match(bad.headers.get('www-authenticate') ?? '', /^Basic/);
  assert.is(((await bad.json()) as { error: string }).error, 'invalid_client');
});

test.run();
