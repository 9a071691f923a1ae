// OIDC Core §5.1 email_verified over real HTTP: left out of userinfo and the ID token until an admin
// verifies the address (CLI actor or the admin panel's CSRF-protected action), then `true`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeJwt } from 'jose';
import { CLI } from '../../../domain/shared.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { AdminClient } from '../admin/client.ts';
import { eventCount, eventsSince, freshTokens, typesOf } from './support.ts';

type Context = { server: TestServer };
const test = suite<Context>('oauth: email_verified');

test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.stop());

const userinfo = async (server: TestServer, accessToken: string) => {
  const response = await fetch(`${server.base}/oauth/userinfo`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  assert.is(response.status, 200);
  return (await response.json()) as Record<string, unknown>;
};

const claimsFor = async (server: TestServer, user: { email: string; password: string }, scope: string) => {
  const { tokens } = await freshTokens(server, { scope, user });
  const idToken = decodeJwt((tokens as unknown as { id_token: string }).id_token);
  return { idToken, info: await userinfo(server, tokens.access_token) };
};

test('omitted by default; true after verification by the CLI actor (event names it); re-run is a no-op', async ({
  server,
}) => {
  const user = { email: 'alice@example.test', password: 'alice-password-1' };
  const userId = await server.services.users.create(user, { type: 'system', id: 'test' });
  const before = await claimsFor(server, user, 'openid email');
  assert.is(before.info.email, 'alice@example.test');
  assert.not.ok('email_verified' in before.info, JSON.stringify(before.info));
  assert.not.ok('email_verified' in before.idToken);

  const start = await eventCount(server);
  assert.is(await server.services.users.verifyEmail('Alice@Example.test', CLI), true);
  assert.is(await server.services.users.verifyEmail('alice@example.test', CLI), false, 'idempotent');
  const events = await eventsSince(server, start);
  assert.equal(typesOf(events), ['UserEmailVerified']);
  assert.equal(events[0]!.data, { userId, at: (events[0]!.data as { at: string }).at });
  assert.equal(events[0]!.metadata.actor, { type: 'system', id: 'cli' });

  const after = await claimsFor(server, user, 'openid email');
  assert.is(after.info.email_verified, true);
  assert.is(after.idToken.email_verified, true);
  // Without the email scope nothing about the address is released (claims otherwise unchanged).
  const noEmail = await claimsFor(server, user, 'openid profile');
  assert.equal(Object.keys(noEmail.info).sort(), ['name', 'sub']);
  assert.not.ok('email_verified' in noEmail.idToken);
});

test('admin panel: CSRF-less POST refused (403, no event); with CSRF the event names the admin', async ({ server }) => {
  const user = { email: 'bob@example.test', password: 'bob-password-12' };
  const userId = await server.services.users.create(user, { type: 'system', id: 'test' });
  const admin = new AdminClient(server.base);
  assert.is((await admin.login(server.adminEmail, server.adminPassword)).status, 303);
  const start = await eventCount(server);
  const noCsrf = await admin.post(`/admin/users/${userId}/verify-email`, {});
  assert.is(noCsrf.status, 403);
  const otherSite = await admin.post(
    `/admin/users/${userId}/verify-email`,
    { csrf: await admin.csrf('/admin/users') },
    { origin: 'https://evil.example' },
  );
  assert.is(otherSite.status, 403);
  assert.equal(typesOf(await eventsSince(server, start)), []);
  const page = await admin.get('/admin/users');
  assert.ok(page.text.includes(`/admin/users/${userId}/verify-email`));
  const done = await admin.post(`/admin/users/${userId}/verify-email`, { csrf: await admin.csrf('/admin/users') });
  assert.is(done.status, 303);
  const events = await eventsSince(server, start);
  assert.equal(typesOf(events), ['UserEmailVerified']);
  const adminRow = await server.services.users.byEmail(server.adminEmail);
  assert.equal(events[0]!.metadata.actor, { type: 'user', id: adminRow!.id, email: server.adminEmail });
  const listed = await admin.get('/admin/users');
  assert.not.ok(listed.text.includes(`/admin/users/${userId}/verify-email`), 'the action is gone once verified');
  assert.is((await claimsFor(server, user, 'openid email')).info.email_verified, true);
});

test('an old event log (no UserEmailVerified) loads: the user folds and verifies', async ({ server }) => {
  const { userDecider, userStream } = await import('../../../domain/users/index.ts');
  const state = [
    {
      type: 'UserCreated',
      data: {
        userId: 'u1',
        email: 'old@example.test',
        name: 'old',
        passwordHash: 'h',
        roles: ['user'],
        createdAt: 'x',
      },
    },
    { type: 'UserPasswordChanged', data: { userId: 'u1', passwordHash: 'h2', at: 'y' } },
  ]
    .map((event) => userDecider.parse(event))
    .reduce(userDecider.evolve, userDecider.initialState());
  assert.is(state.status === 'active' && state.emailVerified, false);
  assert.equal(userDecider.decide({ type: 'VerifyEmail', now: new Date(0) }, state), [
    { type: 'UserEmailVerified', data: { userId: 'u1', at: new Date(0).toISOString() } },
  ]);
  assert.type(userStream('u1'), 'string');
  void server;
});

test.run();
