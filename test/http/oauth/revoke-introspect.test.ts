// Revocation (RFC 7009) and introspection (RFC 7662) decide on verified tokens only, and only for the
// client the token was issued to (or, for introspection, a client an admin marked as a resource server).
import { decodeJwt } from 'jose';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AdminClient } from '../admin/client.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { initialize } from '../../mcp/raw.ts';
import {
  basic,
  codeFor,
  eventCount,
  eventsSince,
  freshTokens,
  publicClient,
  REDIRECT,
  tokenRequest,
  typesOf,
} from './support.ts';

const test = suite<{ server: TestServer }>('oauth: revocation and introspection are for the token’s own client');

test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.stop());

const form = (base: string, path: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body).toString(),
  });

const grantEventsSince = async (server: TestServer, since: number) =>
  typesOf((await eventsSince(server, since)).filter((event) => event.stream.startsWith('oauth-grant-')));

/** An unsigned JWT (alg none) claiming whatever the attacker wants. */
const unsigned = (claims: Record<string, unknown>) =>
  `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${Buffer.from(
    JSON.stringify(claims),
  ).toString('base64url')}.`;

/** A confidential client (client_secret_basic) with an access token of its own from the code flow. */
const confidentialWithToken = async (server: TestServer, name: string) => {
  const created = await server.services.oauth.createConfidentialClient(
    { name, redirectUris: [REDIRECT], grantTypes: ['authorization_code', 'refresh_token'] },
    { type: 'system', id: 'test' },
  );
  const clientId = created.client.clientId;
  const secret = created.clientSecret!;
  const { code, verifier } = await codeFor(server, clientId);
  const exchange = await tokenRequest(
    server.base,
    {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    },
    { authorization: basic(clientId, secret) },
  );
  if (exchange.status !== 200) throw new Error(`exchange failed: ${JSON.stringify(exchange.body)}`);
  return {
    clientId,
    secret,
    accessToken: String(exchange.body.access_token),
    refreshToken: String(exchange.body.refresh_token),
  };
};

test('revoke: a forged unsigned JWT naming another token’s jti → 200, nothing written, the victim’s token still works', async ({
  server,
}) => {
  const victim = await freshTokens(server);
  const attacker = await publicClient(server);
  const { jti, aud, sub, exp, iat } = decodeJwt(victim.tokens.access_token);
  const forged = unsigned({ jti, aud, sub, exp, iat, iss: server.base, client_id: attacker.client_id, scope: '' });
  const since = await eventCount(server);
  const answer = await form(server.base, '/oauth/revoke', { token: forged, client_id: attacker.client_id });
  assert.is(answer.status, 200);
  assert.equal(await answer.json(), {});
  assert.equal(await grantEventsSince(server, since), []);
  assert.is((await initialize(server.base, victim.tokens.access_token, '2025-06-18')).status, 200);
});

test('revoke: another client’s real access token → 200, nothing written, the token still works', async ({ server }) => {
  const victim = await freshTokens(server);
  const other = await publicClient(server);
  const since = await eventCount(server);
  const answer = await form(server.base, '/oauth/revoke', {
    token: victim.tokens.access_token,
    client_id: other.client_id,
  });
  assert.is(answer.status, 200);
  assert.equal(await grantEventsSince(server, since), []);
  assert.is((await initialize(server.base, victim.tokens.access_token, '2025-06-18')).status, 200);
});

test('revoke: the token’s own client → AccessTokenRevoked, /mcp refuses the token', async ({ server }) => {
  const own = await freshTokens(server);
  const since = await eventCount(server);
  const answer = await form(server.base, '/oauth/revoke', {
    token: own.tokens.access_token,
    client_id: own.client.client_id,
  });
  assert.is(answer.status, 200);
  assert.equal(await grantEventsSince(server, since), ['AccessTokenRevoked']);
  assert.is((await initialize(server.base, own.tokens.access_token, '2025-06-18')).status, 401);
});

test('introspect: own token → active; another client’s token → exactly {active:false}; forged → {active:false}', async ({
  server,
}) => {
  const rs = await confidentialWithToken(server, 'Introspecting client');
  const auth = { authorization: basic(rs.clientId, rs.secret) };
  const own = await form(server.base, '/oauth/introspect', { token: rs.accessToken }, auth);
  assert.is(own.status, 200);
  const ownBody = (await own.json()) as { active: boolean; client_id: string };
  assert.is(ownBody.active, true);
  assert.is(ownBody.client_id, rs.clientId);

  const victim = await freshTokens(server);
  const foreign = await form(server.base, '/oauth/introspect', { token: victim.tokens.access_token }, auth);
  assert.is(foreign.status, 200);
  assert.equal(await foreign.json(), { active: false });

  const { jti, aud, sub, exp, iat } = decodeJwt(victim.tokens.access_token);
  const forged = unsigned({ jti, aud, sub, exp, iat, iss: server.base, client_id: rs.clientId });
  assert.equal(await (await form(server.base, '/oauth/introspect', { token: forged }, auth)).json(), { active: false });
});

test('introspect: a client an admin marks as resource server (panel, event with the admin as actor) → active for every client’s token; unmarked → false again', async ({
  server,
}) => {
  const rs = await confidentialWithToken(server, 'Resource server');
  const auth = { authorization: basic(rs.clientId, rs.secret) };
  const victim = await freshTokens(server);
  const introspect = async () =>
    (await (await form(server.base, '/oauth/introspect', { token: victim.tokens.access_token }, auth)).json()) as {
      active: boolean;
      client_id?: string;
      sub?: string;
    };
  assert.equal(await introspect(), { active: false });

  const admin = new AdminClient(server.base);
  await admin.login(server.adminEmail, server.adminPassword);
  const page = await admin.get(`/admin/clients/${rs.clientId}`);
  assert.match(page.text, /Mark as resource server/);
  const csrf = await admin.csrf(`/admin/clients/${rs.clientId}`);
  const marked = await admin.post(`/admin/clients/${rs.clientId}/resource-server`, { csrf, resource_server: 'on' });
  assert.is(marked.status, 303);
  const events = (await server.services.log.readStream(`oauth-client-${rs.clientId}`)).filter(
    (event) => event.type === 'ClientResourceServerSet',
  );
  assert.equal(
    events.map((event) => [event.data, (event.metadata.actor as { email?: string }).email]),
    [[{ clientId: rs.clientId, resourceServer: true, at: (events[0]!.data as { at: string }).at }, server.adminEmail]],
  );
  const active = await introspect();
  assert.is(active.active, true);
  assert.is(active.client_id, victim.client.client_id);
  const row = await server.services.db.query<{ resource_server: boolean }>(
    'SELECT resource_server FROM oauth_clients WHERE client_id = $1',
    [rs.clientId],
  );
  assert.is(row.rows[0]?.resource_server, true);

  // Marking again changes nothing; unmarking takes the right away.
  assert.is(
    await server.services.oauth.clients.setResourceServer(rs.clientId, true, { type: 'system', id: 't' }),
    false,
  );
  assert.is(
    await server.services.oauth.clients.setResourceServer(rs.clientId, false, { type: 'system', id: 't' }),
    true,
  );
  assert.equal(await introspect(), { active: false });
});

test('introspect a refresh token (RFC 7662): own live one → active with its claims; another client, a rotated, revoked or reused one → {active:false}', async ({
  server,
}) => {
  const own = await confidentialWithToken(server, 'refresh-introspect-own');
  const other = await confidentialWithToken(server, 'refresh-introspect-other');
  const introspect = async (token: string, who: { clientId: string; secret: string }) => {
    const answer = await form(
      server.base,
      '/oauth/introspect',
      { token },
      { authorization: basic(who.clientId, who.secret) },
    );
    assert.is(answer.status, 200);
    return (await answer.json()) as Record<string, unknown>;
  };
  const user = await server.services.users.byEmail(server.adminEmail);
  const live = await introspect(own.refreshToken, own);
  assert.equal(Object.keys(live).sort(), ['active', 'aud', 'client_id', 'exp', 'scope', 'sub', 'token_type']);
  assert.is(live.active, true);
  assert.is(live.client_id, own.clientId);
  assert.is(live.token_type, 'refresh_token');
  assert.is(live.sub, user!.id);
  assert.is(live.aud, `${server.base}/mcp`);
  assert.is(live.scope, 'mcp:tools:read mcp:tools:write');
  assert.ok(Number(live.exp) > Date.now() / 1000 + 86_400, 'exp is the refresh token expiry, days away');
  assert.equal(await introspect(own.refreshToken, other), { active: false });
  // Another last character (the token's own may already be 'A'): a token of the right shape, never issued.
  const tampered = `${own.refreshToken.slice(0, -1)}${own.refreshToken.endsWith('A') ? 'B' : 'A'}`;
  assert.equal(await introspect(tampered, own), { active: false });

  // Rotation: the new one is active, the replaced one is not (even within its grace window).
  const rotated = await tokenRequest(
    server.base,
    { grant_type: 'refresh_token', refresh_token: own.refreshToken },
    { authorization: basic(own.clientId, own.secret) },
  );
  assert.is(rotated.status, 200);
  const next = String(rotated.body.refresh_token);
  assert.equal(await introspect(own.refreshToken, own), { active: false });
  assert.is((await introspect(next, own)).active, true);

  // Revocation of the grant (RFC 7009 with the refresh token) → inactive.
  const revoked = await form(
    server.base,
    '/oauth/revoke',
    { token: next },
    { authorization: basic(own.clientId, own.secret) },
  );
  assert.is(revoked.status, 200);
  assert.equal(await introspect(next, own), { active: false });

  // Reuse detection (RFC 9700 §4.14.2) revokes the grant → its current token is inactive too.
  const second = await confidentialWithToken(server, 'refresh-introspect-reuse');
  const first = await tokenRequest(
    server.base,
    { grant_type: 'refresh_token', refresh_token: second.refreshToken },
    { authorization: basic(second.clientId, second.secret) },
  );
  const current = String(first.body.refresh_token);
  assert.is((await introspect(current, second)).active, true);
  // The replaced token presented after its 30 s grace window (the clock moved on, as in attacks.test.ts).
  const registered = await server.services.oauth.clients.find(second.clientId);
  const reuse = await server.services.oauth.tokens
    .refresh(
      registered!,
      { refreshToken: second.refreshToken, scope: undefined, resource: undefined },
      new Date(Date.now() + 60_000),
    )
    .then(
      () => 'refreshed',
      (error: Error) => error.message,
    );
  assert.is(reuse, 'the refresh token was already used; the grant has been revoked');
  assert.equal(await introspect(current, second), { active: false });
});

test('a public client cannot be marked as resource server → 400 invalid_client_metadata, nothing written', async ({
  server,
}) => {
  const client = await publicClient(server);
  const admin = new AdminClient(server.base);
  await admin.login(server.adminEmail, server.adminPassword);
  const csrf = await admin.csrf('/admin/clients');
  const since = await eventCount(server);
  const answer = await admin.post(
    `/admin/clients/${client.client_id}/resource-server`,
    { csrf, resource_server: 'on' },
    { accept: 'application/json' },
  );
  assert.is(answer.status, 400);
  assert.is((JSON.parse(answer.text) as { code: string }).code, 'invalid_client_metadata');
  assert.equal(typesOf(await eventsSince(server, since)), []);
});

test.run();
