// The authorization front channel under attack: a pending request lives in the browser that started it
// (nothing in the log until a known user answers), it cannot be continued from another browser, several
// can be pending at once, and errors before any interaction never bounce to an unvetted redirect URI.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { AdminClient } from '../admin/client.ts';
import { sha256 } from '../../../app/oauth/tokens.ts';
import {
  authorizeUrl,
  Browser,
  consent,
  csrfOf,
  errorPage,
  formAction,
  login,
  pkce,
  publicClient,
  REDIRECT,
  tokenRequest,
  typesOf,
  vettedClient,
} from './support.ts';

const test = suite<{ server: TestServer }>('oauth: front channel (pending request in the browser, prompt, redirects)');

test.before(async (context) => {
  // Hundreds of authorize requests from one address: the per-address limit (its own test is in
  // test/http/oauth/cimd-fetch.test.ts) is raised so this suite measures what it is about.
  context.server = await startTestServer({ AUTHORIZE_RATE_LIMIT_PER_MINUTE: '100000' });
});
test.after(async ({ server }) => server.stop());

const params = (client_id: string, extra: Record<string, string> = {}) => {
  const { verifier, challenge } = pkce();
  return {
    verifier,
    query: {
      response_type: 'code',
      client_id,
      redirect_uri: REDIRECT,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'st-1',
      ...extra,
    },
  };
};

/**
 * Exactly how many events are stored. PostgreSQL: count the table (the global read shows a commit only
 * once every older transaction of the whole server has ended, so it can lag on a busy shared server).
 */
const storedEvents = async (server: TestServer): Promise<number> =>
  server.services.log.kind === 'postgres'
    ? Number((await server.services.db.query<{ n: string }>('SELECT count(*) AS n FROM events')).rows[0]!.n)
    : (await server.services.log.readAll({ maxCount: 100_000 })).length;

const pendingCookies = (browser: Browser) =>
  [...browser.cookies.keys()].filter((name) => name.startsWith('rmcp_authz_'));
const requestIdOf = (location: string) => new URL(location).searchParams.get('request')!;

const redeem = async (server: TestServer, client_id: string, code: string, verifier: string) =>
  tokenRequest(server.base, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    code_verifier: verifier,
    client_id,
  });

test('200 anonymous authorize requests append no event; the request waits in an encrypted cookie', async ({
  server,
}) => {
  const client = await publicClient(server);
  const since = await storedEvents(server);
  const browser = new Browser(server.base);
  for (let i = 0; i < 200; i += 1) {
    const response = await new Browser(server.base).get(
      authorizeUrl(server.base, params(client.client_id, { state: `s${i}`, nonce: `n${i}` }).query),
    );
    assert.is(response.status, 303);
    assert.match(response.headers.get('location')!, /\/oauth\/login\?request=/);
  }
  const start = await browser.get(authorizeUrl(server.base, params(client.client_id, { state: 'secret-state' }).query));
  const login = await browser.get(start.headers.get('location')!);
  assert.is(login.status, 200);
  assert.is(await storedEvents(server), since);
  // The cookie is HttpOnly, Lax, bounded in time, and neither readable nor the request in clear text.
  const line = start.headers.getSetCookie().find((cookie) => cookie.startsWith('rmcp_authz_'))!;
  assert.match(line, /HttpOnly/);
  assert.match(line, /SameSite=Lax/);
  assert.match(line, /Max-Age=600/);
  const value = browser.cookies.get(pendingCookies(browser)[0]!)!;
  assert.is(value.split('.').length, 5, 'a compact JWE');
  assert.not.ok(Buffer.from(value.split('.')[3]!, 'base64url').toString('latin1').includes('secret-state'));
});

test('another browser cannot continue a pending request: login and consent pages → 400 request_expired, no events', async ({
  server,
}) => {
  const client = await publicClient(server);
  const a = new Browser(server.base);
  const { query, verifier } = params(client.client_id);
  const start = await a.get(authorizeUrl(server.base, query));
  const loginUrl = start.headers.get('location')!;
  const id = requestIdOf(loginUrl);

  // Browser B has its own session and CSRF token (it signed in for a request of its own).
  const b = new Browser(server.base);
  const own = await b.get(authorizeUrl(server.base, params(client.client_id).query));
  const signedIn = await login(b, own.headers.get('location')!, server.adminEmail, server.adminPassword);
  assert.is(signedIn.status, 303);
  const bCsrf = csrfOf(await (await b.get(signedIn.headers.get('location')!)).text());
  const since = await storedEvents(server);

  const page = await b.get(loginUrl);
  assert.is(page.status, 400);
  assert.is(page.headers.get('location'), null);
  assert.match(await page.text(), /started in another browser/);
  const consentPage = await b.get(`/oauth/consent?request=${id}`);
  assert.is(consentPage.status, 400);
  for (const [path, form] of [
    [`/oauth/consent?request=${id}`, { csrf: bCsrf, decision: 'approve' }],
    [`/oauth/login?request=${id}`, { csrf: bCsrf, email: server.adminEmail, password: server.adminPassword }],
  ] as const) {
    const response = await b.post(path, form);
    assert.is(response.status, 400);
    assert.is(response.headers.get('location'), null);
    assert.is(((await response.json()) as { code: string }).code, 'request_expired');
  }
  // A cookie copied under another request's name does not work either (the id is sealed inside).
  const [ownName] = pendingCookies(b);
  b.cookies.set(`rmcp_authz_${id}`, b.cookies.get(ownName!)!);
  assert.is((await b.get(`/oauth/consent?request=${id}`)).status, 400);
  // A tampered cookie is refused.
  const [aName] = pendingCookies(a);
  const original = a.cookies.get(aName!)!;
  a.cookies.set(aName!, `${original.slice(0, -3)}${original.endsWith('AAA') ? 'BBB' : 'AAA'}`);
  assert.is((await a.get(loginUrl)).status, 400);
  assert.is(await storedEvents(server), since);

  // The browser that started it finishes normally.
  a.cookies.set(aName!, original);
  const done = await login(a, loginUrl, server.adminEmail, server.adminPassword);
  const approved = await consent(a, done.headers.get('location')!, 'approve');
  const callback = new URL(approved.headers.get('location')!);
  assert.is(callback.searchParams.get('state'), 'st-1');
  assert.is((await redeem(server, client.client_id, callback.searchParams.get('code')!, verifier)).status, 200);
  assert.equal(pendingCookies(a), [], 'the answered request is cleared');
});

test('two pending requests in one browser (two tabs, two clients) both complete; a fourth drops the oldest', async ({
  server,
}) => {
  const first = await publicClient(server);
  const second = await publicClient(server);
  const browser = new Browser(server.base);
  const one = params(first.client_id, { state: 'tab-1' });
  const two = params(second.client_id, { state: 'tab-2' });
  const startOne = await browser.get(authorizeUrl(server.base, one.query));
  const startTwo = await browser.get(authorizeUrl(server.base, two.query));
  assert.is(pendingCookies(browser).length, 2);
  // Tab 2 signs in and approves; tab 1 then goes on (already signed in) to its own consent page.
  const signedIn = await login(browser, startTwo.headers.get('location')!, server.adminEmail, server.adminPassword);
  const approvedTwo = await consent(browser, signedIn.headers.get('location')!, 'approve');
  const approvedOne = await consent(
    browser,
    `/oauth/consent?request=${requestIdOf(startOne.headers.get('location')!)}`,
    'approve',
  );
  const callbackOne = new URL(approvedOne.headers.get('location')!);
  const callbackTwo = new URL(approvedTwo.headers.get('location')!);
  assert.is(callbackOne.searchParams.get('state'), 'tab-1');
  assert.is(callbackTwo.searchParams.get('state'), 'tab-2');
  assert.is((await redeem(server, first.client_id, callbackOne.searchParams.get('code')!, one.verifier)).status, 200);
  assert.is((await redeem(server, second.client_id, callbackTwo.searchParams.get('code')!, two.verifier)).status, 200);
  // Each grant's story (read from its stream: strongly consistent): requested → consent → code in one
  // append, then redeemed.
  for (const [callback, state] of [
    [callbackOne, 'tab-1'],
    [callbackTwo, 'tab-2'],
  ] as const) {
    const events = await server.services.log.readStream(
      `oauth-grant-${callback.searchParams.get('code')!.split('.')[0]}`,
    );
    assert.equal(typesOf(events), [
      'AuthorizationRequested',
      'ConsentGiven',
      'AuthorizationCodeIssued',
      'AuthorizationCodeRedeemed',
    ]);
    assert.is((events[0]!.data as { state?: string }).state, state);
    assert.is(events[0]!.revision, 0n);
  }
  assert.equal(pendingCookies(browser), []);

  // At most three pending per browser: the fourth request drops the oldest (a client not yet approved, so
  // each waits at its consent page).
  const third = await publicClient(server);
  const starts: string[] = [];
  for (let i = 0; i < 4; i += 1)
    starts.push((await browser.get(authorizeUrl(server.base, params(third.client_id).query))).headers.get('location')!);
  assert.is(pendingCookies(browser).length, 3);
  assert.is((await browser.get(starts[0]!.replace('/oauth/login', '/oauth/consent'))).status, 400);
  assert.is((await browser.get(starts[3]!.replace('/oauth/login', '/oauth/consent'))).status, 200);
});

test('a pending request is answered once: replaying its cookie after approval → 400 request_expired, nothing written', async ({
  server,
}) => {
  const client = await publicClient(server);
  const browser = new Browser(server.base);
  const start = await browser.get(authorizeUrl(server.base, params(client.client_id).query));
  const [name] = pendingCookies(browser);
  const saved = browser.cookies.get(name!)!;
  const signedIn = await login(browser, start.headers.get('location')!, server.adminEmail, server.adminPassword);
  const consentUrl = signedIn.headers.get('location')!;
  const html = await (await browser.get(consentUrl)).text();
  assert.is((await browser.post(formAction(html), { csrf: csrfOf(html), decision: 'approve' })).status, 303);
  const since = await storedEvents(server);
  browser.cookies.set(name!, saved);
  for (const decision of ['approve', 'deny']) {
    const again = await browser.post(formAction(html), { csrf: csrfOf(html), decision });
    assert.is(again.status, 400);
    assert.is(((await again.json()) as { code: string }).code, 'request_expired');
  }
  assert.is(await storedEvents(server), since);
});

test('prompt=none (OIDC Core §3.1.2.1): login_required / consent_required on a page for an unvetted client, a redirect for a vetted one; remembered consent answers at once', async ({
  server,
}) => {
  const dynamic = await publicClient(server);
  const vetted = await vettedClient(server);
  const since = await storedEvents(server);
  // Nobody signed in.
  for (const client of [dynamic, vetted]) {
    const response = await new Browser(server.base).get(
      authorizeUrl(server.base, params(client.client_id, { prompt: 'none', state: 'p' }).query),
    );
    assert.equal(
      response.headers.getSetCookie().filter((line) => line.startsWith('rmcp_authz_')),
      [],
    );
    const back =
      client === dynamic ? await errorPage(response, 'login_required') : new URL(response.headers.get('location')!);
    if (client === vetted) assert.is(response.status, 303);
    assert.is(back.origin + back.pathname, REDIRECT);
    assert.is(back.searchParams.get('error'), 'login_required');
    assert.is(back.searchParams.get('state'), 'p');
    assert.is(back.searchParams.get('iss'), server.base);
  }
  // `none` with another value is invalid_request.
  const mixed = await new Browser(server.base).get(
    authorizeUrl(server.base, params(dynamic.client_id, { prompt: 'none login' }).query),
  );
  await errorPage(mixed, 'invalid_request');
  const mixedVetted = await new Browser(server.base).get(
    authorizeUrl(server.base, params(vetted.client_id, { prompt: 'none consent' }).query),
  );
  assert.is(new URL(mixedVetted.headers.get('location')!).searchParams.get('error'), 'invalid_request');
  assert.is(await storedEvents(server), since);

  // Signed in, no consent yet.
  const browser = new Browser(server.base);
  const other = await publicClient(server);
  const start = await browser.get(authorizeUrl(server.base, params(other.client_id).query));
  await login(browser, start.headers.get('location')!, server.adminEmail, server.adminPassword);
  const noConsent = await browser.get(authorizeUrl(server.base, params(dynamic.client_id, { prompt: 'none' }).query));
  await errorPage(noConsent, 'consent_required');
  const noConsentVetted = await browser.get(
    authorizeUrl(server.base, params(vetted.client_id, { prompt: 'none' }).query),
  );
  assert.is(noConsentVetted.status, 303);
  assert.is(new URL(noConsentVetted.headers.get('location')!).searchParams.get('error'), 'consent_required');

  // Approve once; then prompt=none answers with a code, recorded as one append by the signed-in user.
  const first = params(dynamic.client_id);
  const approved = await consent(
    browser,
    (await browser.get(authorizeUrl(server.base, first.query))).headers.get('location')!,
    'approve',
  );
  assert.ok(new URL(approved.headers.get('location')!).searchParams.get('code'));
  const silent = params(dynamic.client_id, { prompt: 'none', state: 'silent' });
  const before = await storedEvents(server);
  const response = await browser.get(authorizeUrl(server.base, silent.query));
  assert.is(response.status, 303);
  const callback = new URL(response.headers.get('location')!);
  assert.is(callback.searchParams.get('state'), 'silent');
  assert.is(await storedEvents(server), before + 3);
  const written = await server.services.log.readStream(
    `oauth-grant-${callback.searchParams.get('code')!.split('.')[0]}`,
  );
  assert.equal(typesOf(written), ['AuthorizationRequested', 'ConsentGiven', 'AuthorizationCodeIssued']);
  assert.is((written[1]!.data as { remembered: boolean }).remembered, true);
  assert.is((written[0]!.metadata.actor as { type: string }).type, 'user');
  assert.is((await redeem(server, dynamic.client_id, callback.searchParams.get('code')!, silent.verifier)).status, 200);
});

test('prompt=consent survives the sign-in: remembered consent is asked again', async ({ server }) => {
  const client = await publicClient(server);
  const browser = new Browser(server.base);
  const start = await browser.get(authorizeUrl(server.base, params(client.client_id).query));
  const signedIn = await login(browser, start.headers.get('location')!, server.adminEmail, server.adminPassword);
  await consent(browser, signedIn.headers.get('location')!, 'approve');
  const fresh = new Browser(server.base);
  const again = await fresh.get(authorizeUrl(server.base, params(client.client_id, { prompt: 'consent' }).query));
  const after = await login(fresh, again.headers.get('location')!, server.adminEmail, server.adminPassword);
  assert.match(after.headers.get('location')!, /\/oauth\/consent\?request=/);
  // Without prompt=consent the remembered consent answers right after the sign-in.
  const plain = new Browser(server.base);
  const quick = await plain.get(authorizeUrl(server.base, params(client.client_id).query));
  const direct = await login(plain, quick.headers.get('location')!, server.adminEmail, server.adminPassword);
  assert.ok(new URL(direct.headers.get('location')!).searchParams.get('code'));
});

test('unvetted clients: errors before any interaction are pages; after the user acted (deny) the error redirects', async ({
  server,
}) => {
  const client = await publicClient(server);
  for (const [extra, code] of [
    [{ response_type: 'token' }, 'unsupported_response_type'],
    [{ scope: 'mcp:tools:read root' }, 'invalid_scope'],
    [{ request: 'eyJ.x.y' }, 'request_not_supported'],
    [{ code_challenge: 'short' }, 'invalid_request'],
  ] as const) {
    const response = await new Browser(server.base).get(
      authorizeUrl(server.base, params(client.client_id, extra).query),
    );
    const back = await errorPage(response, code);
    assert.is(back.searchParams.get('state'), 'st-1');
  }
  // A request too large for a cookie (a browser keeps ~4 KB per cookie) is refused, and sets none.
  const huge = await new Browser(server.base).get(
    authorizeUrl(server.base, params(client.client_id, { state: 's'.repeat(2_000), nonce: 'n'.repeat(500) }).query),
  );
  assert.equal(
    huge.headers.getSetCookie().filter((line) => line.startsWith('rmcp_authz_')),
    [],
  );
  await errorPage(huge, 'invalid_request');
  const browser = new Browser(server.base);
  const start = await browser.get(authorizeUrl(server.base, params(client.client_id).query));
  const signedIn = await login(browser, start.headers.get('location')!, server.adminEmail, server.adminPassword);
  const since = await storedEvents(server);
  const denied = await consent(browser, signedIn.headers.get('location')!, 'deny');
  assert.is(denied.status, 303);
  assert.is(new URL(denied.headers.get('location')!).searchParams.get('error'), 'access_denied');
  assert.is(await storedEvents(server), since + 2);
  const written = await server.services.log.readStream(`oauth-grant-${requestIdOf(signedIn.headers.get('location')!)}`);
  assert.equal(typesOf(written), ['AuthorizationRequested', 'ConsentDenied']);
});

test('a metadata-document (CIMD) client is unvetted too: prompt=none and an unknown response_type are pages', async () => {
  const docs = http.createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({ client_id: `${docBase}${request.url}`, client_name: 'CIMD', redirect_uris: [REDIRECT] }),
    );
  });
  await new Promise<void>((resolve) => docs.listen(0, '127.0.0.1', resolve));
  const docBase = `http://127.0.0.1:${(docs.address() as AddressInfo).port}`;
  const server = await startTestServer({ DANGEROUSLY_ALLOW_PRIVATE_CIMD: 'true' });
  try {
    const clientId = `${docBase}/client.json`;
    const none = await new Browser(server.base).get(
      authorizeUrl(server.base, params(clientId, { prompt: 'none' }).query),
    );
    assert.is((await errorPage(none, 'login_required')).searchParams.get('state'), 'st-1');
    const token = await new Browser(server.base).get(
      authorizeUrl(server.base, params(clientId, { response_type: 'token' }).query),
    );
    await errorPage(token, 'unsupported_response_type');
    // Missing or plain PKCE still goes back to every client at once (its redirect URI already validated).
    const plain = await new Browser(server.base).get(
      authorizeUrl(server.base, params(clientId, { code_challenge_method: 'plain' }).query),
    );
    assert.is(plain.status, 303);
    assert.is(new URL(plain.headers.get('location')!).searchParams.get('error'), 'invalid_request');
  } finally {
    await server.stop();
    await new Promise((resolve) => docs.close(resolve));
  }
});

test('a log written by the earlier version (AuthorizationRequested alone, LoginFailed in the grant stream) still loads, redeems, projects and shows on the audit page', async ({
  server,
}) => {
  const client = await publicClient(server);
  const admin = (await server.services.users.byEmail(server.adminEmail))!;
  const { verifier, challenge } = pkce();
  const grantId = '5b0c2a4e-8f57-4c43-9d0e-0d6f3f1e2a11';
  const pendingId = '5b0c2a4e-8f57-4c43-9d0e-0d6f3f1e2a12';
  const code = `${grantId}.${'c'.repeat(43)}`;
  const now = Date.now();
  const iso = (ms: number) => new Date(now + ms).toISOString();
  const request = {
    clientId: client.client_id,
    redirectUri: REDIRECT,
    scopes: ['mcp:tools:read'],
    resource: `${server.base}/mcp`,
    codeChallenge: challenge,
    state: 'old',
    expiresAt: iso(600_000),
  };
  const byClient = { actor: { type: 'client', id: client.client_id } };
  const bySystem = { actor: { type: 'system', id: 'oauth-login' } };
  const byUser = { actor: { type: 'user', id: admin.id } };
  const { log } = server.services;
  await log.append(`oauth-grant-${pendingId}`, [
    { type: 'AuthorizationRequested', data: { grantId: pendingId, ...request, at: iso(0) }, metadata: byClient },
  ]);
  await log.append(`oauth-grant-${grantId}`, [
    { type: 'AuthorizationRequested', data: { grantId, ...request, at: iso(0) }, metadata: byClient },
  ]);
  await log.append(`oauth-grant-${grantId}`, [
    { type: 'LoginFailed', data: { grantId, email: 'who@example.test', at: iso(1) }, metadata: bySystem },
  ]);
  await log.append(`oauth-grant-${grantId}`, [
    {
      type: 'ConsentGiven',
      data: {
        grantId,
        userId: admin.id,
        clientId: client.client_id,
        scopes: ['mcp:tools:read'],
        remembered: false,
        at: iso(2),
      },
      metadata: byUser,
    },
    {
      type: 'AuthorizationCodeIssued',
      data: { grantId, userId: admin.id, codeHash: sha256(code), expiresAt: iso(60_000), authTime: iso(2), at: iso(2) },
      metadata: byUser,
    },
  ]);
  const exchange = await redeem(server, client.client_id, code, verifier);
  assert.is(exchange.status, 200);
  await server.services.projections.waitFor(await log.headPosition());
  // The read model follows (polled: the projection runner is asynchronous).
  let grants = await server.services.oauth.listGrants({ clientId: client.client_id });
  for (let tries = 0; grants.length === 0 && tries < 100; tries += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    grants = await server.services.oauth.listGrants({ clientId: client.client_id });
  }
  assert.equal(
    grants.map((grant) => [grant.grant_id, grant.status]),
    [[grantId, 'active']],
  );
  // The audit page tells both stories, old event types included.
  const adminBrowser = new AdminClient(server.base);
  assert.is((await adminBrowser.login(server.adminEmail, server.adminPassword)).status, 303);
  const story = await adminBrowser.get(`/admin/audit?stream=${encodeURIComponent(`oauth-grant-${grantId}`)}`);
  assert.is(story.status, 200);
  for (const type of [
    'AuthorizationRequested',
    'LoginFailed',
    'ConsentGiven',
    'AuthorizationCodeIssued',
    'AuthorizationCodeRedeemed',
  ])
    assert.ok(story.text.includes(`data-type="${type}"`), type);
  const pending = await adminBrowser.get(`/admin/audit?stream=${encodeURIComponent(`oauth-grant-${pendingId}`)}`);
  assert.ok(pending.text.includes('data-type="AuthorizationRequested"'));
  // The old pending request was never bound to a browser: its id leads nowhere now.
  assert.is((await new Browser(server.base).get(`/oauth/login?request=${pendingId}`)).status, 400);
});

test.run();
