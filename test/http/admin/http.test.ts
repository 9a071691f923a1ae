// Admin panel over real HTTP: sign-in, CSRF and Origin checks, roles, lockout, cookie flags, actions as events.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LogRing } from '../../../app/logger.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { AdminClient } from './client.ts';

const test = suite<{ server: TestServer }>('admin: http sign-in, csrf, roles, lockout');

test.before(async (context) => {
  context.server = await startTestServer();
  await context.server.services.users.create(
    { email: 'plain@example.test', password: 'plain-password-1' },
    { type: 'system', id: 'test' },
  );
});
test.after(async ({ server }) => server.stop());

const countEvents = async (server: TestServer, type?: string): Promise<number> =>
  Number(
    (
      await server.services.db.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM events ${type ? 'WHERE event_type = $1' : ''}`,
        type ? [type] : [],
      )
    ).rows[0]!.n,
  );

const signedIn = async (server: TestServer): Promise<AdminClient> => {
  const client = new AdminClient(server.base);
  const reply = await client.login(server.adminEmail, server.adminPassword);
  assert.is(reply.status, 303, reply.text);
  return client;
};

test('pages need a session: browsers are sent to the login page, JSON clients get 401', async ({ server }) => {
  const client = new AdminClient(server.base);
  const page = await client.get('/admin/users');
  assert.is(page.status, 302);
  assert.is(page.location, '/admin/login?next=%2Fadmin%2Fusers');
  const api = await client.get('/admin/api/stats', 'application/json');
  assert.is(api.status, 401);
  assert.is(JSON.parse(api.text).code, 'login_required');
});

test('the login page has the documented fields and a strict CSP', async ({ server }) => {
  const page = await new AdminClient(server.base).get('/admin/login');
  assert.is(page.status, 200);
  for (const field of ['name="email"', 'name="password"', 'name="csrf"', 'type="submit"'])
    assert.ok(page.text.includes(field), field);
  const csp = page.headers.get('content-security-policy') ?? '';
  assert.match(csp, /script-src 'self'/);
  assert.not.match(csp, /unsafe-inline/);
  assert.is(page.headers.get('cache-control'), 'no-store');
  assert.not.match(page.text, /<script>|<style>| style="/);
});

test('login POST without CSRF token, with a wrong one, or from another origin → 403 csrf_failed, nothing appended', async ({
  server,
}) => {
  const client = new AdminClient(server.base);
  const csrf = await client.csrf();
  const before = await countEvents(server);
  const attempts = [
    await client.post(
      '/admin/login',
      { email: server.adminEmail, password: server.adminPassword },
      { accept: 'application/json' },
    ),
    await client.post(
      '/admin/login',
      { email: server.adminEmail, password: server.adminPassword, csrf: `${csrf.slice(0, -2)}xx` },
      { accept: 'application/json' },
    ),
    await client.post(
      '/admin/login',
      { email: server.adminEmail, password: server.adminPassword, csrf },
      { origin: 'https://evil.example', accept: 'application/json' },
    ),
    await client.post(
      '/admin/login',
      { email: server.adminEmail, password: server.adminPassword, csrf },
      { origin: null, accept: 'application/json' },
    ),
  ];
  for (const reply of attempts) {
    assert.is(reply.status, 403);
    assert.is(JSON.parse(reply.text).code, 'csrf_failed');
    assert.equal(
      reply.setCookies.filter((c) => c.startsWith('rmcp_admin=')),
      [],
    );
  }
  // A browser gets a page saying why (still 403, still nothing written).
  const page = await client.post('/admin/login', { email: server.adminEmail, password: server.adminPassword });
  assert.is(page.status, 403);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.match(page.text, /csrf_failed/);
  assert.is(await countEvents(server), before);
});

test('a signed-in admin POST without CSRF → 403 and no UserCreated', async ({ server }) => {
  const client = await signedIn(server);
  const before = await countEvents(server);
  const reply = await client.post(
    '/admin/users',
    { email: 'nocsrf@example.test', password: 'long-enough-1' },
    { accept: 'application/json' },
  );
  assert.is(reply.status, 403);
  assert.is(JSON.parse(reply.text).code, 'csrf_failed');
  const wrong = await client.post(
    '/admin/users',
    { email: 'nocsrf@example.test', password: 'long-enough-1', csrf: 'forged' },
    { accept: 'application/json' },
  );
  assert.is(wrong.status, 403);
  assert.is(await countEvents(server), before);
  assert.is(await server.services.users.byEmail('nocsrf@example.test'), undefined);
});

test('session cookie on a loopback http PUBLIC_URL: rmcp_admin, HttpOnly, SameSite=Strict, Path=/', async ({
  server,
}) => {
  const client = new AdminClient(server.base);
  const reply = await client.login(server.adminEmail, server.adminPassword);
  assert.is(reply.status, 303);
  assert.is(reply.location, '/admin');
  const cookie = reply.setCookies.find((line) => line.startsWith('rmcp_admin='));
  assert.ok(cookie, reply.setCookies.join(' | '));
  assert.match(cookie, /; HttpOnly/);
  assert.match(cookie, /; SameSite=Strict/);
  assert.match(cookie, /; Path=\//);
  // RFC 6265bis §4.1.3.2: __Host- needs Secure, which a plain-http origin cannot set.
  assert.not.match(cookie, /Secure/);
  const dashboard = await client.get('/admin');
  assert.is(dashboard.status, 200);
  assert.match(dashboard.text, /<canvas id="chart-events"/);
  for (const link of ['users', 'clients', 'tokens', 'sessions', 'tools', 'memory', 'audit', 'projections', 'logs'])
    assert.ok(dashboard.text.includes(`href="/admin/${link}"`), link);
});

test('a non-admin user cannot sign in (403, no session)', async ({ server }) => {
  const client = new AdminClient(server.base);
  const sessionsBefore = await countEvents(server, 'BrowserSessionStarted');
  const reply = await client.login('plain@example.test', 'plain-password-1');
  assert.is(reply.status, 403);
  assert.match(reply.text, /not an administrator/);
  assert.is(await countEvents(server, 'BrowserSessionStarted'), sessionsBefore);
  assert.equal(
    reply.setCookies.filter((c) => c.startsWith('rmcp_admin=')),
    [],
  );
  assert.is((await client.get('/admin')).status, 302);
});

test('an admin demoted while signed in is refused at the next request (403)', async ({ server }) => {
  const actor = { type: 'system', id: 'test' } as const;
  await server.services.users.create(
    { email: 'temp-admin@example.test', password: 'temp-admin-pw-1', roles: ['admin', 'user'] },
    actor,
  );
  const client = new AdminClient(server.base);
  assert.is((await client.login('temp-admin@example.test', 'temp-admin-pw-1')).status, 303);
  assert.is((await client.get('/admin/users')).status, 200);
  await server.services.users.setRoles('temp-admin@example.test', ['user'], actor);
  assert.is((await client.get('/admin/users')).status, 403);
});

test('creating a user is a command whose event names the admin as actor; the audit page shows it', async ({
  server,
}) => {
  const client = await signedIn(server);
  const csrf = await client.csrf('/admin/users');
  const reply = await client.post('/admin/users', {
    email: 'new@example.test',
    name: 'New',
    password: 'new-password-1',
    csrf,
  });
  assert.is(reply.status, 303);
  assert.is(reply.location, '/admin/users?ok=user_created');
  const user = await server.services.users.byEmail('new@example.test');
  assert.ok(user);
  const [created] = await server.services.log.readStream(`user-${user.id}`);
  const admin = await server.services.users.byEmail(server.adminEmail);
  assert.equal(created?.metadata.actor, { type: 'user', id: admin!.id, email: server.adminEmail });
  const audit = await client.get(`/admin/audit?type=UserCreated&user=${encodeURIComponent(server.adminEmail)}`);
  assert.is(audit.status, 200);
  assert.match(audit.text, /new@example\.test/);
  assert.not.match(audit.text, /argon2id/); // password hashes are redacted
});

test('the audit page never shows the server secret', async ({ server }) => {
  const client = await signedIn(server);
  const audit = await client.get('/admin/audit?type=ServerSecretCreated');
  assert.match(audit.text, /ServerSecretCreated/);
  assert.match(audit.text, /\[redacted\]/);
  const [stored] = await server.services.log.readStream('server-secret');
  assert.not.ok(audit.text.includes((stored!.data as { secret: string }).secret));
});

test('rebuild from the panel: an event names the admin, progress reaches done', async ({ server }) => {
  const client = await signedIn(server);
  const csrf = await client.csrf('/admin/projections');
  const reply = await client.post('/admin/projections/users/rebuild', { csrf });
  assert.is(reply.status, 303);
  assert.is(reply.location, '/admin/projections/users/rebuild');
  let state: { done: boolean; error?: string; progress?: { handled: number } } = { done: false };
  for (let i = 0; i < 100 && !state.done; i += 1) {
    state = JSON.parse((await client.get('/admin/api/projections/users/rebuild', 'application/json')).text);
    if (!state.done) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(state.done);
  assert.is(state.error, undefined);
  assert.ok((state.progress?.handled ?? 0) > 0);
  const [requested] = await server.services.log.readStream('admin-projection-users');
  assert.is(requested?.type, 'ProjectionRebuildRequested');
  assert.is((requested?.metadata.actor as { email?: string }).email, server.adminEmail);
  const unknown = await client.post('/admin/projections/nope/rebuild', { csrf }, { accept: 'application/json' });
  assert.is(unknown.status, 404);
});

test('logout ends the session: the old cookie no longer opens the panel', async ({ server }) => {
  const client = await signedIn(server);
  const stolen = new Map(client.cookies);
  const csrf = await client.csrf('/admin');
  const reply = await client.post('/admin/logout', { csrf });
  assert.is(reply.status, 303);
  assert.ok(reply.setCookies.some((line) => line.startsWith('rmcp_admin=;') && /Max-Age=0/.test(line)));
  const replay = new AdminClient(server.base);
  for (const [name, value] of stolen) replay.cookies.set(name, value);
  assert.is((await replay.get('/admin')).status, 302);
  assert.ok((await countEvents(server, 'BrowserSessionEnded')) >= 1);
});

test('an expired session is refused', async ({ server }) => {
  const client = await signedIn(server);
  await server.services.db.query(
    `UPDATE browser_sessions SET expires_at = now() - interval '1 second' WHERE purpose = 'admin'`,
  );
  const page = await client.get('/admin');
  assert.is(page.status, 302);
  assert.is(page.location, '/admin/login?next=%2Fadmin&expired=1');
  assert.match((await client.get(page.location ?? '')).text, /Your session has ended/);
});

test('audit: pagination (50 a page, older link) and time range', async ({ server }) => {
  await server.services.log.append(
    'audit-test-1',
    Array.from({ length: 55 }, (_, i) => ({
      type: 'AuditProbe',
      data: { i },
      metadata: { actor: { type: 'system', id: 'test' } },
    })),
  );
  const client = await signedIn(server);
  const first = await client.get('/admin/audit?stream=audit-test-1');
  assert.is((first.text.match(/data-type="AuditProbe"/g) ?? []).length, 50);
  assert.match(first.text, /&quot;i&quot;: 54/); // newest first
  const older = /id="audit-older" href="([^"]+)"/.exec(first.text)?.[1]?.replace(/&amp;/g, '&');
  assert.ok(older);
  const second = await client.get(older);
  assert.is((second.text.match(/data-type="AuditProbe"/g) ?? []).length, 5);
  assert.not.match(second.text, /id="audit-older"/);
  const future = await client.get('/admin/audit?stream=audit-test-1&from=2999-01-01T00:00');
  assert.match(future.text, /id="audit-empty"/);
  const past = await client.get('/admin/audit?stream=audit-test-1&to=2000-01-01T00:00');
  assert.match(past.text, /id="audit-empty"/);
  const now = await client.get(
    `/admin/audit?type=AuditProbe&from=${new Date(Date.now() - 3_600_000).toISOString().slice(0, 16)}`,
  );
  assert.is((now.text.match(/data-type="AuditProbe"/g) ?? []).length, 50);
});

test('audit: newest first by global position, also across a power of ten (positions are not sorted as text)', async ({
  server,
}) => {
  const head = Number((await server.services.log.headPosition())?.prepare ?? 0n);
  const count = 10 ** String(head).length - head + 5; // the batch spans the next power of ten
  await server.services.log.append(
    'audit-order',
    Array.from({ length: count }, (_, i) => ({ type: 'AuditOrder', data: { i } })),
  );
  const client = await signedIn(server);
  const page = await client.get('/admin/audit?stream=audit-order');
  const shown = [...page.text.matchAll(/&quot;i&quot;: (\d+)/g)].map((match) => Number(match[1]));
  assert.equal(
    shown,
    Array.from({ length: Math.min(50, count) }, (_, k) => count - 1 - k),
  );
});

test('logs page: level filter over the log ring', async ({ server }) => {
  const ring = new LogRing();
  ring.write(JSON.stringify({ level: 30, time: new Date().toISOString(), msg: 'request', status: 200 }));
  ring.write(JSON.stringify({ level: 50, time: new Date().toISOString(), msg: 'something broke', err: 'boom' }));
  server.services.logRing = ring;
  try {
    const client = await signedIn(server);
    const all = await client.get('/admin/logs?level=info');
    assert.match(all.text, /something broke/);
    assert.match(all.text, />request</);
    const errors = await client.get('/admin/logs?level=error');
    assert.match(errors.text, /something broke/);
    assert.not.match(errors.text, />request</);
    const stats = JSON.parse((await client.get('/admin/api/stats', 'application/json')).text) as {
      log: { requests: number[]; errors: number[] };
    };
    assert.ok(stats.log.errors.reduce((a, b) => a + b, 0) >= 1);
  } finally {
    server.services.logRing = undefined;
  }
});

test('brute force: 5 failures → 401, then 429 + SignInThrottled; even the right password from that address is refused', async ({
  server,
}) => {
  const client = new AdminClient(server.base);
  const csrf = await client.csrf();
  for (let i = 0; i < 5; i += 1) {
    const reply = await client.post('/admin/login', { email: server.adminEmail, password: `wrong-${i}`, csrf });
    assert.is(reply.status, 401);
    assert.match(reply.text, /Wrong email or password/);
  }
  const sixth = await client.post(
    '/admin/login',
    { email: server.adminEmail, password: 'wrong-6', csrf },
    { accept: 'application/json' },
  );
  assert.is(sixth.status, 429);
  assert.is(JSON.parse(sixth.text).code, 'too_many_attempts');
  assert.ok(Number(sixth.headers.get('retry-after')) > 0);
  assert.is(await countEvents(server, 'SignInThrottled'), 1);
  const right = await client.post(
    '/admin/login',
    { email: server.adminEmail, password: server.adminPassword, csrf },
    { accept: 'application/json' },
  );
  assert.is(right.status, 429);
  assert.equal(
    right.setCookies.filter((c) => c.startsWith('rmcp_admin=')),
    [],
  );
  assert.is(await countEvents(server, 'SignInThrottled'), 1);
  assert.is(await countEvents(server, 'SignInFailed'), 5);
  const browser = await client.post('/admin/login', { email: server.adminEmail, password: server.adminPassword, csrf });
  assert.is(browser.status, 429);
  assert.match(browser.text, /Too many sign-in attempts/);
  assert.ok(Number(browser.headers.get('retry-after')) > 0);
});

test.run();
