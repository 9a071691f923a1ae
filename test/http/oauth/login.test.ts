// The login and consent pages under attack: CSRF (missing, wrong, cross-origin), brute force, framing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../../support/server.ts';
import {
  authorizeUrl,
  Browser,
  csrfOf,
  eventCount,
  eventsSince,
  formAction,
  login,
  pkce,
  publicClient,
  REDIRECT,
  typesOf,
} from './support.ts';

const test = suite<{ server: TestServer }>('oauth: login and consent pages (CSRF, brute force)');

test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.stop());

/** A browser sent to the login page of a fresh request; returns the page's form action and csrf. */
const atLogin = async (server: TestServer) => {
  const client = await publicClient(server);
  const browser = new Browser(server.base);
  const start = await browser.get(
    authorizeUrl(server.base, {
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: REDIRECT,
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    }),
  );
  const page = await browser.get(start.headers.get('location')!);
  assert.is(page.status, 200);
  assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  assert.is(page.headers.get('x-frame-options'), 'DENY');
  const html = await page.text();
  assert.match(html, /name="email"/);
  assert.match(html, /name="password"/);
  assert.match(html, /type="submit"/);
  return { browser, action: formAction(html), csrf: csrfOf(html), loginUrl: start.headers.get('location')! };
};

const sessionAndAuthEvents = async (server: TestServer, since: number) =>
  typesOf(await eventsSince(server, since)).filter((type) =>
    /BrowserSession|LoginFailed|Consent|AuthorizationCode/.test(type),
  );

for (const [name, form, headers] of [
  [
    'missing csrf',
    (csrf: string) => ({ email: 'admin@example.test', password: 'admin-password-123', csrf: csrf && '' }),
    undefined,
  ],
  [
    'wrong csrf',
    (_: string) => ({ email: 'admin@example.test', password: 'admin-password-123', csrf: 'x'.repeat(43) }),
    undefined,
  ],
  [
    'cross-site origin',
    (csrf: string) => ({ email: 'admin@example.test', password: 'admin-password-123', csrf }),
    { origin: 'https://evil.example' },
  ],
  [
    'no origin or referer',
    (csrf: string) => ({ email: 'admin@example.test', password: 'admin-password-123', csrf }),
    {},
  ],
] as const) {
  test(`login CSRF: ${name} → 403 csrf_failed, no session, no events`, async ({ server }) => {
    const { browser, action, csrf } = await atLogin(server);
    const since = await eventCount(server);
    const response = await browser.post(action, form(csrf), headers ?? { origin: server.base });
    assert.is(response.status, 403);
    assert.is(response.headers.get('location'), null);
    assert.match(await response.text(), /csrf_failed/);
    assert.equal(await sessionAndAuthEvents(server, since), []);
  });
}

test('consent CSRF: missing / wrong token → 403 csrf_failed, no ConsentGiven, no code', async ({ server }) => {
  const { browser, loginUrl } = await atLogin(server);
  const loggedIn = await login(browser, loginUrl, server.adminEmail, server.adminPassword);
  const consentUrl = loggedIn.headers.get('location')!;
  const html = await (await browser.get(consentUrl)).text();
  assert.match(html, /name="decision" value="approve"/);
  assert.match(html, /name="decision" value="deny"/);
  const since = await eventCount(server);
  for (const csrf of ['', 'forged'.repeat(8)]) {
    const response = await browser.post(formAction(html), { csrf, decision: 'approve' });
    assert.is(response.status, 403);
    assert.match(await response.text(), /csrf_failed/);
  }
  // The token of another browser does not work either (it is bound to that browser's cookie).
  const other = await atLogin(server);
  const stolen = await browser.post(formAction(html), { csrf: other.csrf, decision: 'approve' });
  assert.is(stolen.status, 403);
  assert.equal(await sessionAndAuthEvents(server, since), []);
});

test('brute force: after 5 failures for one account the 6th attempt from that address is 429 even with the right password; failures go to the login-guard stream', async ({
  server,
}) => {
  const email = 'brute@example.test';
  await server.services.users.create({ email, password: 'right-password-1' }, { type: 'system', id: 'test' });
  const since = await eventCount(server);
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const { browser, action, csrf } = await atLogin(server);
    const response = await browser.post(action, { csrf, email, password: `wrong-${attempt}` });
    assert.is(response.status, 401);
    assert.match(await response.text(), /Wrong email or password/);
  }
  const { browser, action, csrf } = await atLogin(server);
  const locked = await browser.post(action, { csrf, email, password: 'right-password-1' });
  assert.is(locked.status, 429);
  assert.ok(Number(locked.headers.get('retry-after')) > 0);
  const grantStreams = (await eventsSince(server, since)).filter((event) => event.stream.startsWith('oauth-grant-'));
  assert.equal(typesOf(grantStreams), []);
  assert.match(await locked.text(), /Too many sign-in attempts/);
  // Nothing in the grant's stream (an unauthenticated caller writes nothing permanent there).
  assert.equal(await sessionAndAuthEvents(server, since), []);
  const guard = (await eventsSince(server, since)).filter((event) => event.stream === 'login-guard');
  assert.equal(typesOf(guard), [
    'SignInFailed',
    'SignInFailed',
    'SignInFailed',
    'SignInFailed',
    'SignInFailed',
    'SignInThrottled',
  ]);
  assert.equal(
    guard.map((event) => (event.data as { via: string }).via),
    ['oauth', 'oauth', 'oauth', 'oauth', 'oauth', 'oauth'],
  );
  assert.is((guard[5]!.data as { scope: string }).scope, 'ip_account');
  // Another account from the same address is not locked by this one.
  const fresh = await atLogin(server);
  const ok = await fresh.browser.post(fresh.action, {
    csrf: fresh.csrf,
    email: server.adminEmail,
    password: server.adminPassword,
  });
  assert.is(ok.status, 303);
});

test('login page for an unknown or expired request → 400 page, no redirect', async ({ server }) => {
  for (const request of ['nope', '00000000-0000-4000-8000-000000000000', '../../admin']) {
    const response = await new Browser(server.base).get(`/oauth/login?request=${encodeURIComponent(request)}`);
    assert.is(response.status, 400);
    assert.is(response.headers.get('location'), null);
  }
});

test('the session cookie is HttpOnly and SameSite=Lax (no Secure/__Host- on a loopback http issuer)', async ({
  server,
}) => {
  const { browser, action, csrf } = await atLogin(server);
  const response = await browser.post(action, { csrf, email: server.adminEmail, password: server.adminPassword });
  const cookie = response.headers.getSetCookie().find((line) => line.startsWith('rmcp_oauth='));
  assert.ok(cookie);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Lax/);
});

test.run();
