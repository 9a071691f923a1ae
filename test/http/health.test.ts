import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../support/server.ts';

const test = suite<{ server: TestServer }>('http: health, errors, request ids');

test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.stop());

test('/healthz answers ok', async ({ server }) => {
  const response = await fetch(`${server.base}/healthz`);
  assert.is(response.status, 200);
  assert.equal(await response.json(), { status: 'ok' });
  assert.is(response.headers.get('cache-control'), 'no-store');
});

test('/readyz is ready once the database answers, projections are caught up and resources are not exhausted', async ({
  server,
}) => {
  const response = await fetch(`${server.base}/readyz`);
  assert.is(response.status, 200);
  assert.equal(await response.json(), {
    status: 'ready',
    checks: { database: 'ok', projections: 'ok', file_descriptors: 'ok', outbound_fetches: 'ok' },
  });
});

test('unknown routes give problem+json with the request id; an incoming id is kept', async ({ server }) => {
  const response = await fetch(`${server.base}/nope`, {
    headers: { 'x-request-id': 'abc-123', accept: 'application/json' },
  });
  assert.is(response.status, 404);
  assert.is(response.headers.get('content-type'), 'application/problem+json');
  assert.is(response.headers.get('x-request-id'), 'abc-123');
  const body = (await response.json()) as Record<string, unknown>;
  assert.is(body.code, 'not_found');
  assert.is(body.requestId, 'abc-123');
});

test('a hostile request id is replaced, not echoed', async ({ server }) => {
  const response = await fetch(`${server.base}/healthz`, { headers: { 'x-request-id': '<script>alert(1)</script>' } });
  assert.match(response.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
});

test('browsers get an HTML error page', async ({ server }) => {
  const response = await fetch(`${server.base}/nope`, { headers: { accept: 'text/html' } });
  assert.is(response.status, 404);
  assert.match(await response.text(), /Not found/);
});

test('assets come from npm packages; paths cannot escape them', async ({ server }) => {
  const css = await fetch(`${server.base}/assets/bootstrap/css/bootstrap.min.css`);
  assert.is(css.status, 200);
  assert.is(css.headers.get('content-type'), 'text/css; charset=utf-8');
  const escape = await fetch(`${server.base}/assets/bootstrap/..%2F..%2F..%2Fpackage.json`);
  assert.is(escape.status, 404);
});

test('the first admin exists and can authenticate', async ({ server }) => {
  const admin = await server.services.users.authenticate(server.adminEmail, server.adminPassword);
  assert.ok(admin);
  assert.equal(admin.roles.sort(), ['admin', 'user']);
  assert.is(await server.services.users.authenticate(server.adminEmail, 'wrong-password'), undefined);
});

test('/metrics: Prometheus text with request, append, projection-lag and event-loop metrics; no auth', async ({
  server,
}) => {
  await fetch(`${server.base}/healthz`);
  const response = await fetch(`${server.base}/metrics`);
  assert.is(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await response.text();
  assert.match(
    text,
    /remotemcp_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} \d+/,
  );
  assert.match(text, /remotemcp_events_appended_total\{stream_category="user"\} 1/);
  assert.match(text, /remotemcp_projection_lag_events\{projection="users"\} 0/);
  assert.match(text, /remotemcp_nodejs_eventloop_lag_p99_seconds/);
});

test('security headers: CSP without inline script, frame-ancestors none, nosniff; no HSTS on http', async ({
  server,
}) => {
  const response = await fetch(`${server.base}/healthz`);
  const csp = response.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.is(response.headers.get('x-content-type-options'), 'nosniff');
  assert.is(response.headers.get('strict-transport-security'), null);
});

test.run();
