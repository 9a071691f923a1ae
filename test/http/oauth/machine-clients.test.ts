// A tool runs on behalf of a user the server knows: open registration never gets client_credentials;
// machine clients act for a service user (no password, no sign-in) with the admin's scopes; clients and
// tokens from before the upgrade that name no user are refused.
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { hashPassword } from '../../../app/users.ts';
import { newAccessTokenId, randomSecret, sha256, signAccessToken } from '../../../app/oauth/tokens.ts';
import { grantDecider, grantStream } from '../../../domain/grants/index.ts';
import { clientDecider, clientStream } from '../../../domain/clients/index.ts';
import { userStream } from '../../../domain/users/index.ts';
import { loadAggregate } from '../../../app/handle.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { AdminClient } from '../admin/client.ts';
import { initialize } from '../../mcp/raw.ts';
import {
  basic,
  Browser,
  authorizeUrl,
  eventCount,
  eventsSince,
  login,
  pkce,
  publicClient,
  typesOf,
} from './support.ts';

const test = suite<{ server: TestServer }>('oauth: machine clients act for service users');
const TEST = { type: 'system', id: 'test' } as const;

test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.stop());

const clientCredentials = (base: string, id: string, secret: string, scope?: string) =>
  fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) }).toString(),
  });

test('open registration asking for client_credentials → 400 invalid_client_metadata, nothing written', async ({
  server,
}) => {
  const before = await eventCount(server);
  for (const metadata of [
    { grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic' },
    { grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_post' },
    {
      redirect_uris: ['https://a.example/cb'],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ]) {
    const response = await fetch(`${server.base}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(metadata),
    });
    assert.is(response.status, 400, JSON.stringify(metadata));
    const body = (await response.json()) as { error: string; client_id?: string; client_secret?: string };
    assert.is(body.error, 'invalid_client_metadata');
    assert.is(body.client_id, undefined);
    assert.is(body.client_secret, undefined);
  }
  assert.equal(typesOf(await eventsSince(server, before)), []);
});

test('RFC 7592: a registered client cannot add client_credentials by updating itself', async ({ server }) => {
  const created = (await (
    await fetch(`${server.base}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: ['https://a.example/cb'],
        token_endpoint_auth_method: 'client_secret_basic',
      }),
    })
  ).json()) as { client_id: string; registration_access_token: string };
  const before = await eventCount(server);
  const update = await fetch(`${server.base}/oauth/register/${created.client_id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${created.registration_access_token}` },
    body: JSON.stringify({
      client_id: created.client_id,
      redirect_uris: ['https://a.example/cb'],
      grant_types: ['authorization_code', 'client_credentials'],
      token_endpoint_auth_method: 'client_secret_basic',
    }),
  });
  assert.is(update.status, 400);
  assert.is(((await update.json()) as { error: string }).error, 'invalid_client_metadata');
  assert.equal(typesOf(await eventsSince(server, before)), []);
});

test('a machine client: its token carries the service user as sub and only the admin’s scopes; tools and their audit see that user', async ({
  server,
}) => {
  const created = await server.services.oauth.createMachineClient(
    { name: 'reporter', userEmail: 'reporter-bot@example.com', scopes: ['mcp:tools:read'] },
    TEST,
  );
  assert.is(created.serviceUser.created, true);
  const bot = await server.services.users.byEmail('reporter-bot@example.com');
  assert.ok(bot);
  assert.equal(bot.roles, ['service']);
  assert.is(bot.password_hash, '');
  // Asking for more than the admin gave → 400 invalid_scope, no grant.
  const wider = await clientCredentials(
    server.base,
    created.client.clientId,
    created.clientSecret!,
    'mcp:tools:read mcp:tools:write',
  );
  assert.is(wider.status, 400);
  assert.is(((await wider.json()) as { error: string }).error, 'invalid_scope');
  const ok = await clientCredentials(server.base, created.client.clientId, created.clientSecret!);
  assert.is(ok.status, 200);
  const body = (await ok.json()) as { access_token: string; scope: string; refresh_token?: string };
  assert.is(body.scope, 'mcp:tools:read');
  assert.is(body.refresh_token, undefined);
  const info = await server.services.oauth.verifier.verify(body.access_token, `${server.base}/mcp`);
  assert.is(info.subject, bot.id);
  assert.is(info.clientId, created.client.clientId);
  // The grant read model knows the user (so a disable of the service user ends it).
  const grants = await server.services.oauth.listGrants({ clientId: created.client.clientId });
  assert.equal(
    grants.map((g) => g.user_id),
    [bot.id],
  );

  const mcp = new Client({ name: 'bot', version: '1' });
  await mcp.connect(
    new StreamableHTTPClientTransport(new URL(`${server.base}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${body.access_token}` } },
    }),
  );
  const result = await mcp.callTool({ name: 'memory_list', arguments: {} });
  assert.is(result.isError ?? false, false);
  await mcp.close();
  await server.services.groupCommit.flush();
  const audit = await server.services.log.readStream(`audit-tools-${bot.id}`);
  assert.equal(
    audit.map((event) => [event.type, (event.data as { userId: string; clientId: string }).userId]),
    [['ToolCalled', bot.id]],
  );
  assert.is((audit[0]!.data as { clientId: string }).clientId, created.client.clientId);

  // Disabling the service user ends its machine tokens: /mcp 401, token endpoint unauthorized_client.
  await server.services.users.disable('reporter-bot@example.com', TEST);
  assert.is((await initialize(server.base, body.access_token, '2025-06-18')).status, 401);
  const afterDisable = await clientCredentials(server.base, created.client.clientId, created.clientSecret!);
  assert.is(afterDisable.status, 400);
  assert.is(((await afterDisable.json()) as { error: string }).error, 'unauthorized_client');
});

test('a service user cannot sign in: OAuth login and /admin refuse it, even if a password hash were ever stored', async ({
  server,
}) => {
  const created = await server.services.oauth.createMachineClient(
    { name: 'ops', userEmail: 'ops-bot@example.com' },
    TEST,
  );
  // Worst case: an event slipped a real hash onto the service user (the domain never writes one).
  await server.services.log.append(userStream(created.serviceUser.id), [
    {
      type: 'UserPasswordChanged',
      data: {
        userId: created.serviceUser.id,
        passwordHash: await hashPassword('ops-bot-password'),
        at: new Date().toISOString(),
      },
      metadata: { actor: TEST },
    },
  ]);
  await server.services.projections.waitFor(await server.services.log.headPosition());
  const client = await publicClient(server);
  const { challenge } = pkce();
  for (const password of ['', 'ops-bot-password']) {
    const browser = new Browser(server.base);
    const start = await browser.get(
      authorizeUrl(server.base, {
        response_type: 'code',
        client_id: client.client_id,
        redirect_uri: 'http://127.0.0.1:9999/callback',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }),
    );
    const before = await eventCount(server);
    const response = await login(browser, start.headers.get('location')!, 'ops-bot@example.com', password);
    assert.is(response.status, 401, `oauth login with ${JSON.stringify(password)}`);
    assert.not.ok(typesOf(await eventsSince(server, before)).includes('BrowserSessionStarted'));
  }
  const admin = new AdminClient(server.base);
  const before = await eventCount(server);
  const refused = await admin.login('ops-bot@example.com', 'ops-bot-password');
  assert.is(refused.status, 401);
  assert.is(refused.location, null);
  assert.not.ok(typesOf(await eventsSince(server, before)).includes('BrowserSessionStarted'));
  assert.match((await admin.get('/admin')).location ?? '', /^\/admin\/login/);
  // The machine client itself keeps working: it never needed a sign-in.
  assert.is((await clientCredentials(server.base, created.client.clientId, created.clientSecret!)).status, 200);
});

test('a person cannot be a machine client’s user; no open client, no admin client without --user gets client_credentials', async ({
  server,
}) => {
  const before = await eventCount(server);
  try {
    await server.services.oauth.createMachineClient({ name: 'impostor', userEmail: server.adminEmail }, TEST);
    assert.unreachable('a person was bound to a machine client');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'not_a_service_user');
  }
  try {
    await server.services.oauth.createMachineClient(
      { name: 'wide', userEmail: 'wide-bot@example.com', scopes: ['openid'] },
      TEST,
    );
    assert.unreachable('a machine client got an OIDC scope');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'invalid_scope');
  }
  for (const source of ['dynamic', 'admin'] as const) {
    try {
      await server.services.oauth.clients.register(
        {
          clientName: 'no user',
          redirectUris: [],
          grantTypes: ['client_credentials'],
          tokenEndpointAuthMethod: 'client_secret_basic',
          applicationType: 'web',
        },
        source,
        TEST,
      );
      assert.unreachable(`${source} client_credentials client without a user`);
    } catch (error) {
      assert.is((error as { code?: string }).code, 'invalid_client_metadata');
    }
  }
  assert.equal(typesOf(await eventsSince(server, before)), []);
  // A confidential admin client made without --user has no client_credentials.
  const plain = await server.services.oauth.createConfidentialClient({ name: 'plain' }, TEST);
  assert.equal(plain.client.grantTypes, []);
  const refused = await clientCredentials(server.base, plain.client.clientId, plain.clientSecret!);
  assert.is(refused.status, 400);
  assert.is(((await refused.json()) as { error: string }).error, 'unauthorized_client');
});

test('upgrade: a client_credentials client registered without a user → 400 unauthorized_client; its old token → 401 invalid_token at /mcp', async ({
  server,
}) => {
  // Events exactly as the previous release wrote them: open registration with client_credentials.
  const clientId = randomUUID();
  const secret = randomSecret();
  const at = new Date().toISOString();
  await server.services.log.append(
    clientStream(clientId),
    [
      {
        type: 'ClientRegistered',
        data: {
          clientName: 'Unnamed client',
          redirectUris: [],
          grantTypes: ['client_credentials'],
          tokenEndpointAuthMethod: 'client_secret_basic',
          applicationType: 'web',
          clientId,
          source: 'dynamic',
          secretHash: sha256(secret),
          registrationTokenHash: sha256(randomSecret()),
          at,
        },
        metadata: { actor: { type: 'system', id: 'registration:127.0.0.1' } },
      },
    ],
    { expectedVersion: 'no_stream' },
  );
  const grantId = randomUUID();
  const jti = newAccessTokenId(grantId);
  const expiresAt = new Date(Date.now() + 600_000);
  await server.services.log.append(
    grantStream(grantId),
    [
      {
        type: 'ClientCredentialsIssued',
        data: {
          grantId,
          clientId,
          resource: `${server.base}/mcp`,
          tokens: {
            accessTokenId: jti,
            accessExpiresAt: expiresAt.toISOString(),
            scopes: ['mcp:tools:read', 'mcp:tools:write'],
          },
          at,
        },
        metadata: { actor: { type: 'client', id: clientId } },
      },
    ],
    { expectedVersion: 'no_stream' },
  );
  await server.services.projections.waitFor(await server.services.log.headPosition());
  // Old events still load.
  const loadedClient = await loadAggregate(server.services.log, clientStream(clientId), clientDecider);
  assert.is(loadedClient.state.status, 'active');
  const loadedGrant = await loadAggregate(server.services.log, grantStream(grantId), grantDecider);
  assert.is(loadedGrant.state.status, 'active');
  assert.equal(
    (await server.services.oauth.listTokens({ clientId })).map((t) => [t.jti, t.user_id, t.revoked]),
    [[jti, null, false]],
  );

  const before = await eventCount(server);
  const refused = await clientCredentials(server.base, clientId, secret);
  assert.is(refused.status, 400);
  assert.is(((await refused.json()) as { error: string }).error, 'unauthorized_client');
  assert.equal(typesOf(await eventsSince(server, before)), []);

  // The token the previous release issued to it (sub = the client id, a UUID that names no user).
  const token = await signAccessToken(server.services.oauth.keys, {
    issuer: server.base,
    audience: `${server.base}/mcp`,
    subject: clientId,
    clientId,
    scopes: ['mcp:tools:read', 'mcp:tools:write'],
    jti,
    issuedAt: new Date(),
    expiresAt,
  });
  const response = await initialize(server.base, token, '2025-06-18');
  assert.is(response.status, 401);
  assert.match(response.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  assert.is(((await response.json()) as { error: { data: { code: string } } }).error.data.code, 'invalid_token');
});

test.run();
