// Admin pages and their actions: users (roles, disable, password), clients (secret shown once), tokens (revocation reaches /mcp),
// tools (disable/enable as events), sessions and memory pages render; every action names the admin.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { AdminClient } from './client.ts';
import { initialize } from '../../mcp/raw.ts';

const test = suite<{ server: TestServer; admin: AdminClient; client?: { id: string; secret: string } }>(
  'admin: users, clients, tokens, tools, sessions, memory',
);

test.before(async (context) => {
  context.server = await startTestServer();
  context.admin = new AdminClient(context.server.base);
  const reply = await context.admin.login(context.server.adminEmail, context.server.adminPassword);
  assert.is(reply.status, 303);
});
test.after(async ({ server }) => server.stop());

const actorOf = async (server: TestServer, stream: string, type: string) =>
  (await server.services.log.readStream(stream))
    .filter((event) => event.type === type)
    .map((event) => (event.metadata.actor as { email?: string }).email);

test('every section page renders for an admin', async ({ admin }) => {
  for (const section of ['users', 'clients', 'tokens', 'sessions', 'tools', 'memory', 'audit', 'projections', 'logs']) {
    const page = await admin.get(`/admin/${section}`);
    assert.is(page.status, 200, `${section}: ${page.text.slice(0, 300)}`);
    assert.match(
      page.text,
      new RegExp(
        `href="/admin/${section}"[^>]*class="nav-link active"|class="nav-link active"[^>]*href="/admin/${section}"`,
      ),
    );
  }
  const memory = await admin.get('/admin/memory?q=nothing-here&user=someone%40example.test');
  assert.is(memory.status, 200);
});

test('users: roles, disable/enable, reset password; an admin cannot disable or demote themself', async ({
  admin: client,
  server,
}) => {
  const csrf = await client.csrf('/admin/users');
  const actor = { type: 'system', id: 'test' } as const;
  await server.services.users.create({ email: 'managed@example.test', password: 'managed-password-1' }, actor);
  const user = (await server.services.users.byEmail('managed@example.test'))!;
  assert.is((await client.post(`/admin/users/${user.id}/roles`, { csrf, admin: 'on' })).status, 303);
  assert.equal((await server.services.users.byId(user.id))!.roles.sort(), ['admin', 'user']);
  assert.is((await client.post(`/admin/users/${user.id}/roles`, { csrf })).status, 303);
  assert.equal((await server.services.users.byId(user.id))!.roles, ['user']);
  assert.is((await client.post(`/admin/users/${user.id}/disable`, { csrf })).status, 303);
  assert.is((await server.services.users.byId(user.id))!.status, 'disabled');
  assert.is((await client.post(`/admin/users/${user.id}/enable`, { csrf })).status, 303);
  assert.is(
    (await client.post(`/admin/users/${user.id}/password`, { csrf, password: 'brand-new-password' })).status,
    303,
  );
  assert.ok(await server.services.users.authenticate('managed@example.test', 'brand-new-password'));
  const types = (await server.services.log.readStream(`user-${user.id}`)).map(
    (e) => `${e.type}:${(e.metadata.actor as { email?: string }).email ?? '-'}`,
  );
  assert.equal(types, [
    'UserCreated:-',
    'UserRolesChanged:admin@example.test',
    'UserRolesChanged:admin@example.test',
    'UserDisabled:admin@example.test',
    'UserEnabled:admin@example.test',
    'UserPasswordChanged:admin@example.test',
  ]);
  const self = (await server.services.users.byEmail(server.adminEmail))!;
  const disableSelf = await client.post(`/admin/users/${self.id}/disable`, { csrf }, { accept: 'application/json' });
  assert.is(disableSelf.status, 400);
  assert.is(JSON.parse(disableSelf.text).code, 'cannot_change_self');
  const demoteSelf = await client.post(`/admin/users/${self.id}/roles`, { csrf }, { accept: 'application/json' });
  assert.is(demoteSelf.status, 400);
  assert.is(
    (
      await client.post(
        '/admin/users/00000000-0000-0000-0000-000000000000/disable',
        { csrf },
        { accept: 'application/json' },
      )
    ).status,
    404,
  );
});

test('create a confidential client: the secret is shown once, hashed in the log, never on the audit page', async (context) => {
  const { admin, server } = context;
  const csrf = await admin.csrf('/admin/clients');
  const reply = await admin.post('/admin/clients', {
    csrf,
    name: 'Admin-made',
    redirect_uris: 'https://app.example.test/cb',
  });
  assert.is(reply.status, 201);
  assert.is(reply.headers.get('cache-control'), 'no-store');
  const id = /id="client-id">([^<]+)</.exec(reply.text)?.[1];
  const secret = /id="client-secret">([^<]+)</.exec(reply.text)?.[1];
  assert.ok(id && secret);
  context.client = { id, secret };
  const list = await admin.get('/admin/clients');
  assert.ok(list.text.includes(id));
  assert.ok(list.text.includes('https://app.example.test/cb'));
  assert.not.ok(list.text.includes(secret));
  const details = await admin.get(`/admin/clients/${encodeURIComponent(id)}`);
  assert.is(details.status, 200);
  assert.match(details.text, /admin/);
  const audit = await admin.get(`/admin/audit?stream=${encodeURIComponent(`oauth-client-${id}`)}`);
  assert.match(audit.text, /ClientRegistered/);
  assert.not.ok(audit.text.includes(secret));
  assert.equal(await actorOf(server, `oauth-client-${id}`, 'ClientRegistered'), [server.adminEmail]);
});

test('create a machine client: bound to a new service user (role service, no password) with the ticked scopes; a person cannot be its user', async (context) => {
  const { admin, server } = context;
  const csrf = await admin.csrf('/admin/clients');
  const reply = await admin.post('/admin/clients/machine', {
    csrf,
    name: 'Nightly job',
    service_user: 'nightly-bot@example.com',
    scope_read: 'on',
  });
  assert.is(reply.status, 201);
  assert.is(reply.headers.get('cache-control'), 'no-store');
  const id = /id="client-id">([^<]+)</.exec(reply.text)?.[1];
  const secret = /id="client-secret">([^<]+)</.exec(reply.text)?.[1];
  assert.ok(id && secret);
  assert.match(reply.text, /id="service-user">nightly-bot@example.com/);
  const client = await server.services.oauth.clients.find(id);
  const bot = await server.services.users.byEmail('nightly-bot@example.com');
  assert.ok(client && bot);
  assert.equal(client.grantTypes, ['client_credentials']);
  assert.is(client.scope, 'mcp:tools:read');
  assert.is(client.serviceUserId, bot.id);
  assert.equal(bot.roles, ['service']);
  assert.is(bot.password_hash, '');
  assert.equal(await actorOf(server, `oauth-client-${id}`, 'ClientRegistered'), [server.adminEmail]);
  assert.equal(await actorOf(server, `user-${bot.id}`, 'UserCreated'), [server.adminEmail]);
  context.client = { id, secret };
  // The admin's own account (a person) cannot become a machine client's user: 400, nothing written.
  const before = await server.services.log.headPosition();
  const person = await admin.post(
    '/admin/clients/machine',
    { csrf, name: 'Impostor', service_user: server.adminEmail, scope_read: 'on' },
    { accept: 'application/json' },
  );
  assert.is(person.status, 400);
  assert.is(JSON.parse(person.text).code, 'not_a_service_user');
  assert.equal(await server.services.log.headPosition(), before);
  // A service user has no password to reset and no role to change.
  const passwd = await admin.post(
    `/admin/users/${bot.id}/password`,
    { csrf, password: 'a-password-for-a-bot' },
    { accept: 'application/json' },
  );
  assert.is(passwd.status, 400);
  assert.is(JSON.parse(passwd.text).code, 'service_user');
  const promote = await admin.post(
    `/admin/users/${bot.id}/roles`,
    { csrf, admin: 'on' },
    { accept: 'application/json' },
  );
  assert.is(promote.status, 400);
  assert.is(JSON.parse(promote.text).code, 'service_user');
  assert.equal((await server.services.users.byEmail('nightly-bot@example.com'))?.roles, ['service']);
});

test('revoke an access token from the tokens page: /mcp refuses it afterwards', async ({ admin, server, client }) => {
  assert.ok(client);
  // Issued by the token service (the client_credentials grant) so this test does not depend on /oauth/token's routing.
  const registered = await server.services.oauth.clients.find(client.id);
  assert.ok(registered);
  const token = (
    await server.services.oauth.tokens.clientCredentials(registered, {
      scope: 'mcp:tools:read',
      resource: `${server.base}/mcp`,
    })
  ).access_token;
  assert.is((await initialize(server.base, token, '2025-06-18', 'admin-test')).status, 200);
  const page = await admin.get(`/admin/tokens?client=${encodeURIComponent(client.id)}`);
  const jti = /data-jti="([^"]+)"/.exec(page.text)?.[1];
  assert.ok(jti, 'token listed');
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)![1]!;
  const revoked = await admin.post(`/admin/tokens/access/${encodeURIComponent(jti)}/revoke`, {
    csrf,
    client: client.id,
  });
  assert.is(revoked.status, 303);
  assert.is(revoked.location, `/admin/tokens?client=${encodeURIComponent(client.id)}&ok=revoked`);
  const grantId = jti.split('.')[0]!;
  assert.equal(await actorOf(server, `oauth-grant-${grantId}`, 'AccessTokenRevoked'), [server.adminEmail]);
  const refused = await initialize(server.base, token, '2025-06-18', 'admin-test');
  assert.is(refused.status, 401);
  assert.match(refused.headers.get('www-authenticate') ?? '', /^Bearer /);
  const after = await admin.get(`/admin/tokens?client=${encodeURIComponent(client.id)}`);
  assert.not.ok(after.text.includes(`data-jti="${jti}"`));
});

test('the sessions page lists the MCP session opened above, live, with its streams', async ({ admin }) => {
  const page = await admin.get('/admin/sessions');
  assert.is(page.status, 200);
  assert.match(page.text, /id="mcp-sessions-table"/);
  assert.match(page.text, /admin-test 1/);
  assert.match(page.text, /href="\/admin\/audit\?stream=mcp-session-/);
  assert.match(page.text, /id="browser-sessions-table"/);
});

test('revoke all grants of a client: every one of them ends up revoked, by the admin', async ({
  admin,
  server,
  client,
}) => {
  assert.ok(client);
  const registered = await server.services.oauth.clients.find(client.id);
  assert.ok(registered);
  for (let i = 0; i < 2; i += 1)
    await server.services.oauth.tokens.clientCredentials(registered, {
      scope: 'mcp:tools:read',
      resource: `${server.base}/mcp`,
    });
  // Issuing tokens does not wait for the grants read model; let it catch up.
  await server.services.projections.waitFor(await server.services.log.headPosition());
  const before = await server.services.oauth.listGrants({ clientId: client.id });
  assert.ok(before.filter((g) => g.status !== 'revoked').length >= 2);
  const csrf = await admin.csrf(`/admin/tokens?client=${encodeURIComponent(client.id)}`);
  const reply = await admin.post('/admin/tokens/revoke-all', { csrf, client: client.id });
  assert.is(reply.status, 303);
  const after = await server.services.oauth.listGrants({ clientId: client.id });
  assert.equal(
    after.filter((g) => g.status !== 'revoked'),
    [],
  );
  for (const grant of before.filter((g) => g.status !== 'revoked')) {
    assert.equal(await actorOf(server, `oauth-grant-${grant.grant_id}`, 'GrantRevoked'), [server.adminEmail]);
  }
});

test('revoke-all needs a user or a client (never every grant by an empty form)', async ({ admin }) => {
  const csrf = await admin.csrf('/admin/tokens');
  const reply = await admin.post('/admin/tokens/revoke-all', { csrf }, { accept: 'application/json' });
  assert.is(reply.status, 400);
  assert.is(JSON.parse(reply.text).code, 'invalid_request');
});

test('disable and enable a tool: ToolDisabled/ToolEnabled events name the admin', async ({ admin, server }) => {
  const tools = await server.services.tools.list();
  const tool = tools.find((t) => t.enabled);
  assert.ok(tool, 'some tool is enabled');
  const csrf = await admin.csrf('/admin/tools');
  const off = await admin.post(`/admin/tools/${tool.name}/enabled`, { csrf, enabled: 'false' });
  assert.is(off.status, 303);
  assert.is((await server.services.tools.list()).find((t) => t.name === tool.name)?.enabled, false);
  const page = await admin.get('/admin/tools');
  assert.match(page.text, new RegExp(`data-toggle-tool="${tool.name}"[^>]*>Enable<`));
  const on = await admin.post(`/admin/tools/${tool.name}/enabled`, { csrf, enabled: 'true' });
  assert.is(on.status, 303);
  assert.is((await server.services.tools.list()).find((t) => t.name === tool.name)?.enabled, true);
  const audit = await admin.get(`/admin/audit?type=ToolDisabled&user=${encodeURIComponent(server.adminEmail)}`);
  assert.match(audit.text, /data-type="ToolDisabled"/);
  const unknown = await admin.post(
    '/admin/tools/no_such_tool/enabled',
    { csrf, enabled: 'false' },
    { accept: 'application/json' },
  );
  assert.is(unknown.status, 400);
});

test('a rejected form shows a page with the reason, not JSON', async ({ admin }) => {
  const csrf = await admin.csrf('/admin/users');
  const reply = await admin.post('/admin/users', { csrf, email: 'short@example.test', password: 'short' });
  assert.is(reply.status, 400);
  assert.match(reply.headers.get('content-type') ?? '', /text\/html/);
  assert.match(reply.text, /invalid_request/);
});

test('delete a client', async ({ admin, server, client }) => {
  assert.ok(client);
  const list = await admin.get('/admin/clients');
  assert.ok(
    list.text.includes(`href="/admin/clients/${encodeURIComponent(client.id)}/delete"`),
    'Delete leads to a confirmation',
  );
  assert.match(list.text, new RegExp(`data-grants="${client.id}"><a[^>]*>\\d+ / \\d+</a>`));
  assert.match(list.text, new RegExp(`data-last-used="${client.id}">\\d{4}-`));
  const confirmPage = await admin.get(`/admin/clients/${encodeURIComponent(client.id)}/delete`);
  assert.is(confirmPage.status, 200);
  assert.match(confirmPage.text, /name="confirm" value="yes"/);
  const csrf = await admin.csrf(`/admin/clients/${encodeURIComponent(client.id)}/delete`);
  // A POST without the confirmation (an old form, a stray click) deletes nothing.
  const unconfirmed = await admin.post(`/admin/clients/${encodeURIComponent(client.id)}/delete`, { csrf });
  assert.is(unconfirmed.status, 400);
  assert.match(unconfirmed.text, /confirmation_required/);
  assert.equal(await actorOf(server, `oauth-client-${client.id}`, 'ClientDeleted'), []);
  const reply = await admin.post(`/admin/clients/${encodeURIComponent(client.id)}/delete`, { csrf, confirm: 'yes' });
  assert.is(reply.status, 303);
  assert.not.ok((await admin.get('/admin/clients')).text.includes(client.id));
  assert.equal(await actorOf(server, `oauth-client-${client.id}`, 'ClientDeleted'), [server.adminEmail]);
});

test.run();
