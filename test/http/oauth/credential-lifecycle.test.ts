// A password change or a disable ends every session and grant of that user, and an enable revives none:
// old access token at /mcp → 401, old refresh token → 400 invalid_grant, old OAuth browser session no
// longer skips the login, old admin cookie → sent to the admin login. All over real HTTP.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { hashPassword } from '../../../app/users.ts';
import { CLI } from '../../../domain/shared.ts';
import { userStream } from '../../../domain/users/index.ts';
import type { RecordedEvent } from '../../../eventstore/port.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { AdminClient } from '../admin/client.ts';
import { initialize } from '../../mcp/raw.ts';
import {
  authorizeUrl,
  Browser,
  eventCount,
  eventsSince,
  obtainCode,
  pkce,
  publicClient,
  redeemCode,
  REDIRECT,
  refreshRequest,
  tokenRequest,
} from './support.ts';

const test = suite<{ server: TestServer; admin: AdminClient }>('oauth: credential lifecycle (passwd, disable, enable)');

test.before(async (context) => {
  context.server = await startTestServer();
  context.admin = new AdminClient(context.server.base);
  assert.is((await context.admin.login(context.server.adminEmail, context.server.adminPassword)).status, 303);
});
test.after(async ({ server }) => server.stop());

type SignedIn = {
  clientId: string;
  browser: Browser;
  admin: AdminClient;
  access: string;
  refresh: string;
  /** A code obtained but not yet redeemed, with its verifier. */
  pending: { code: string; verifier: string };
};

const authorizeParams = (clientId: string, challenge: string) => ({
  response_type: 'code',
  client_id: clientId,
  redirect_uri: REDIRECT,
  code_challenge: challenge,
  code_challenge_method: 'S256',
  state: 'st',
});

/** The user signed in everywhere: an OAuth grant (access + refresh), its browser session, an admin cookie. */
const signIn = async (server: TestServer, email: string, password: string): Promise<SignedIn> => {
  const { client_id } = await publicClient(server);
  const browser = new Browser(server.base);
  const first = pkce();
  const callback = await obtainCode(server, authorizeParams(client_id, first.challenge), { email, password }, browser);
  const exchange = await tokenRequest(server.base, {
    grant_type: 'authorization_code',
    code: callback.searchParams.get('code')!,
    redirect_uri: REDIRECT,
    code_verifier: first.verifier,
    client_id,
  });
  assert.is(exchange.status, 200);
  // A second code, through the live session and remembered consent (no login page), left unredeemed.
  const second = pkce();
  const again = await browser.get(authorizeUrl(server.base, authorizeParams(client_id, second.challenge)));
  const location = new URL(again.headers.get('location')!);
  assert.is(location.origin + location.pathname, REDIRECT, 'the live OAuth session skips the login');
  const admin = new AdminClient(server.base);
  assert.is((await admin.login(email, password)).status, 303);
  assert.is((await admin.get('/admin')).status, 200);
  const access = String(exchange.body.access_token);
  assert.is((await initialize(server.base, access, '2025-06-18')).status, 200);
  return {
    clientId: client_id,
    browser,
    admin,
    access,
    refresh: String(exchange.body.refresh_token),
    pending: { code: location.searchParams.get('code')!, verifier: second.verifier },
  };
};

/** Every credential of `old` is refused, each with its exact answer. */
const assertAllEnded = async (server: TestServer, old: SignedIn, label: string) => {
  const mcp = await initialize(server.base, old.access, '2025-06-18');
  assert.is(mcp.status, 401, `${label}: access token at /mcp`);
  assert.match(mcp.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  const refreshed = await refreshRequest(server.base, old.clientId, old.refresh);
  assert.is(refreshed.status, 400, `${label}: refresh token`);
  assert.is(refreshed.body.error, 'invalid_grant');
  const { challenge } = pkce();
  const authorize = await old.browser.get(authorizeUrl(server.base, authorizeParams(old.clientId, challenge)));
  assert.is(authorize.status, 303);
  assert.match(authorize.headers.get('location') ?? '', /\/oauth\/login/, `${label}: OAuth browser session`);
  const panel = await old.admin.get('/admin');
  assert.is(panel.status, 302, `${label}: admin cookie`);
  assert.match(panel.location ?? '', /^\/admin\/login/);
};

const actorOf = (event: RecordedEvent) => {
  const actor = event.metadata.actor as { type: string; id: string; email?: string };
  return actor.email ?? `${actor.type}:${actor.id}`;
};
const summary = (events: readonly RecordedEvent[]) =>
  events
    .filter((e) =>
      ['UserPasswordChanged', 'UserDisabled', 'UserEnabled', 'GrantRevoked', 'BrowserSessionEnded'].includes(e.type),
    )
    .map((e) => `${e.type}:${(e.data as { reason?: string }).reason ?? '-'}:${actorOf(e)}`)
    .sort();

test('an admin resets a password in the panel: every session and grant of that user ends, as events naming the admin', async ({
  server,
  admin,
}) => {
  const email = 'ann@example.com';
  const userId = await server.services.users.create(
    { email, password: 'ann-password-1', roles: ['admin', 'user'] },
    CLI,
  );
  const old = await signIn(server, email, 'ann-password-1');
  const before = await eventCount(server);
  const csrf = await admin.csrf('/admin/users');
  const reset = await admin.post(`/admin/users/${userId}/password`, { csrf, password: 'ann-password-2' });
  assert.is(reset.status, 303);
  assert.equal(summary(await eventsSince(server, before)), [
    `BrowserSessionEnded:password_changed:${server.adminEmail}`,
    `BrowserSessionEnded:password_changed:${server.adminEmail}`,
    `GrantRevoked:password_changed:${server.adminEmail}`,
    `UserPasswordChanged:-:${server.adminEmail}`,
  ]);
  await assertAllEnded(server, old, 'after the password change');
  // The code obtained before the change is dead too (RFC 6749 §5.2 invalid_grant), though no grant event named it.
  const late = await redeemCode(server.base, {
    code: old.pending.code,
    verifier: old.pending.verifier,
    client_id: old.clientId,
  });
  assert.is(late.status, 400);
  assert.is(late.body.error, 'invalid_grant');
  // The new password signs in and works.
  const fresh = await signIn(server, email, 'ann-password-2');
  assert.is((await initialize(server.base, fresh.access, '2025-06-18')).status, 200);
});

test('users passwd (CLI): the same, with the CLI as actor', async ({ server }) => {
  const email = 'cleo@example.com';
  await server.services.users.create({ email, password: 'cleo-password-1', roles: ['admin', 'user'] }, CLI);
  const old = await signIn(server, email, 'cleo-password-1');
  const before = await eventCount(server);
  await server.services.users.changePassword(email, 'cleo-password-2', CLI);
  assert.equal(summary(await eventsSince(server, before)), [
    'BrowserSessionEnded:password_changed:system:cli',
    'BrowserSessionEnded:password_changed:system:cli',
    'GrantRevoked:password_changed:system:cli',
    'UserPasswordChanged:-:system:cli',
  ]);
  await assertAllEnded(server, old, 'after users passwd');
});

test('disable ends everything; enable revives none of it; a new sign-in after enable works', async ({ server }) => {
  const email = 'bob@example.com';
  await server.services.users.create({ email, password: 'bob-password-1', roles: ['admin', 'user'] }, CLI);
  const old = await signIn(server, email, 'bob-password-1');
  const before = await eventCount(server);
  assert.is(await server.services.users.disable(email, CLI), true);
  assert.equal(summary(await eventsSince(server, before)), [
    'BrowserSessionEnded:user_disabled:system:cli',
    'BrowserSessionEnded:user_disabled:system:cli',
    'GrantRevoked:user_disabled:system:cli',
    'UserDisabled:-:system:cli',
  ]);
  await assertAllEnded(server, old, 'while disabled');
  assert.is(await server.services.users.enable(email, CLI), true);
  await assertAllEnded(server, old, 'after enable');
  const fresh = await signIn(server, email, 'bob-password-1');
  assert.is((await initialize(server.base, fresh.access, '2025-06-18')).status, 200);
});

test('the cut-off alone holds: a password change whose revocations never ran still ends every session and token', async ({
  server,
}) => {
  const email = 'dora@example.com';
  const userId = await server.services.users.create(
    { email, password: 'dora-password-1', roles: ['admin', 'user'] },
    CLI,
  );
  const old = await signIn(server, email, 'dora-password-1');
  // Only the user event, as if the process died right after it (before the grant and session events).
  await server.services.log.append(userStream(userId), [
    {
      type: 'UserPasswordChanged',
      data: { userId, passwordHash: await hashPassword('dora-password-2'), at: new Date().toISOString() },
      metadata: { actor: CLI },
    },
  ]);
  await server.services.projections.waitFor(await server.services.log.headPosition());
  await assertAllEnded(server, old, 'cut-off only');
});

test.run();
