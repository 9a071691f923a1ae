// A fuzz pass over the HTTP surface: malformed JSON, wrong content types, bad UTF-8, odd methods,
// huge headers and bodies, hostile paths. Nothing may crash the server or answer 500 with internals.
import http from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../support/server.ts';
import { freshTokens } from '../http/oauth/support.ts';
import { AdminClient } from '../http/admin/client.ts';

const PATHS = [
  '/',
  '/healthz',
  '/readyz',
  '/metrics',
  '/mcp',
  '/mcp/',
  '/admin',
  '/admin/login',
  '/admin/users',
  '/admin/audit',
  '/admin/audit?before=99999999999999999999',
  '/admin/users/not-a-uuid/disable',
  '/admin/clients/%00/delete',
  '/oauth/authorize',
  '/oauth/authorize?response_type=code&client_id=https%3A%2F%2F',
  '/oauth/authorize?response_type=code&client_id=https%3A%2F%2F%5Bfe80%3A%3A1%2525eth0%5D%2Fc',
  '/oauth/authorize?client_id=%00',
  '/oauth/token',
  '/oauth/register',
  '/oauth/register/x',
  '/oauth/revoke',
  '/oauth/introspect',
  '/oauth/jwks',
  '/oauth/userinfo',
  '/.well-known/oauth-authorization-server',
  '/.well-known/openid-configuration',
  '/.well-known/oauth-protected-resource',
  '/.well-known/oauth-protected-resource/mcp',
  '/assets/bootstrap/../../package.json',
  '/%00',
  '/%ff%fe',
  '/admin/%2e%2e/%2e%2e/etc/passwd',
  `/${'a'.repeat(4_000)}`,
];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
const TYPES = [
  'application/json',
  'application/x-www-form-urlencoded',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/xml',
  '',
  'application/json; charset=latin1',
];
const BODIES: (string | Buffer)[] = [
  '',
  '{',
  '{"jsonrpc":"2.0"',
  '[]',
  'null',
  '{"jsonrpc":"2.0","id":1,"method":"initialize","params":null}',
  '[{"jsonrpc":"2.0"}]',
  'a=1&a=2&b[]=3&__proto__[x]=1',
  'grant_type=authorization_code&code=%ZZ',
  '{"__proto__":{"polluted":true}}',
  Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xff, 0xfe]),
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]),
  'x'.repeat(2 * 1024 * 1024),
  JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: 'x'.repeat(10_000), arguments: { deep: JSON.parse('['.repeat(500) + ']'.repeat(500)) } },
  }),
];

// Deterministic (xorshift) so a failure can be replayed.
let seed = 0x2545f491;
const random = (n: number) => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return Math.abs(seed) % n;
};
const pick = <T>(values: readonly T[]): T => values[random(values.length)]!;

const send = (base: string, method: string, path: string, headers: Record<string, string>, body: string | Buffer) =>
  new Promise<{ status: number; body: string }>((resolve) => {
    const url = new URL(base);
    const request = http.request({ host: url.hostname, port: url.port, method, path, headers }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      response.on('error', () => resolve({ status: -1, body: '' }));
    });
    request.on('error', () => resolve({ status: -1, body: '' })); // the server may cut an oversized request
    request.setTimeout(10_000, () => request.destroy());
    if (body.length && method !== 'GET' && method !== 'HEAD') request.write(body);
    request.end();
  });

const test = suite<{ server: TestServer }>('faults: HTTP fuzz');
test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.stop());

test('300 malformed requests: no 5xx that leaks internals, the server stays up', async ({ server }) => {
  const statuses = new Map<number, number>();
  for (let i = 0; i < 300; i += 1) {
    const method = pick(METHODS);
    const path = pick(PATHS);
    const type = pick(TYPES);
    const headers: Record<string, string> = {
      accept: pick([
        'application/json',
        'text/html',
        'text/event-stream',
        '*/*',
        'application/json, text/event-stream',
      ]),
    };
    if (type) headers['content-type'] = type;
    if (random(4) === 0)
      headers.authorization = pick(['Bearer ', 'Bearer x.y.z', 'Basic !!!', 'Bearer ' + 'a'.repeat(5_000), 'Digest x']);
    if (random(5) === 0) headers['mcp-session-id'] = pick(['', 'x', '../../etc', 'a'.repeat(300)]);
    if (random(6) === 0) headers['mcp-protocol-version'] = pick(['1999-01-01', 'garbage', '2025-06-18']);
    if (random(6) === 0) headers.origin = pick(['https://evil.example', 'null', server.base]);
    if (random(6) === 0) headers['content-encoding'] = pick(['gzip', 'deflate', 'br', 'x-unknown', 'identity']);
    if (random(8) === 0) headers['last-event-id'] = pick(['x', '1', 'a:b:c', '-1', '9'.repeat(40)]);
    const result = await send(server.base, method, path, headers, pick(BODIES));
    statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
    if (result.status >= 500) {
      assert.not.match(
        result.body,
        /\n\s+at |node_modules|Error: /,
        `${method} ${path} leaked internals: ${result.body.slice(0, 300)}`,
      );
    }
  }
  // Huge headers: Node answers 431 before the app sees them.
  const huge = await send(server.base, 'GET', '/healthz', { 'x-big': 'a'.repeat(64 * 1024) }, '');
  assert.ok(huge.status === 431 || huge.status === -1, `huge header → ${huge.status}`);
  const health = await fetch(`${server.base}/healthz`);
  assert.is(health.status, 200, 'still alive');
  const fiveHundreds = [...statuses].filter(([status]) => status >= 500).reduce((sum, [, count]) => sum + count, 0);
  assert.is(fiveHundreds, 0, `5xx answers: ${JSON.stringify([...statuses])}`);
});

const STACK = /\n\s+at |node_modules|Error: /;

test('inputs that once answered 500 are each a 4xx with a clear message and no stack trace', async ({ server }) => {
  const json = { 'content-type': 'application/json', accept: 'application/json' };
  const form = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  const registration = JSON.stringify({
    redirect_uris: ['https://app.example/cb'],
    token_endpoint_auth_method: 'none',
  });
  const authorize = (clientId: string) =>
    `/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: 'https://app.example/cb', code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' })}`;
  const cases: [string, string, Record<string, string>, string | Buffer, number, string, RegExp][] = [
    [
      'GET',
      authorize('https://'),
      { accept: 'application/json' },
      '',
      400,
      'invalid_client',
      /not a valid metadata document URL/,
    ],
    [
      'GET',
      authorize('https://[fe80::1%25eth0]/c'),
      { accept: 'application/json' },
      '',
      400,
      'invalid_client',
      /not a valid metadata document URL/,
    ],
    [
      'GET',
      authorize('https://[fe80::1%eth0]/c'),
      { accept: 'application/json' },
      '',
      400,
      'invalid_client',
      /not a valid metadata document URL/,
    ],
    [
      'POST',
      '/oauth/register',
      { ...json, 'content-encoding': 'gzip' },
      gzipSync(registration),
      415,
      'invalid_request',
      /Content-Encoding "gzip" is not supported/,
    ],
    [
      'POST',
      '/oauth/register',
      { ...json, 'content-encoding': 'gzip' },
      'not gzip at all',
      415,
      'invalid_request',
      /not supported/,
    ],
    [
      'POST',
      '/oauth/register',
      { ...json, 'content-encoding': 'br' },
      brotliCompressSync(registration),
      415,
      'invalid_request',
      /not supported/,
    ],
    [
      'POST',
      '/oauth/token',
      { ...form, 'content-encoding': 'deflate' },
      deflateSync('grant_type=x'),
      415,
      'invalid_request',
      /not supported/,
    ],
    [
      'POST',
      '/admin/login',
      { ...form, 'content-encoding': 'gzip' },
      gzipSync('email=a'),
      415,
      'unsupported_media_type',
      /not supported/,
    ],
    [
      'POST',
      '/oauth/register',
      json,
      JSON.stringify({ redirect_uris: ['https://app.example/cb'], client_name: 'a\u0000b' }),
      400,
      'invalid_client_metadata',
      /client_name: holds U\+0000 or an unpaired surrogate/,
    ],
    [
      'POST',
      '/oauth/register',
      json,
      '{"redirect_uris":["https://app.example/cb"],"client_name":"\\ud800"}',
      400,
      'invalid_client_metadata',
      /client_name: holds U\+0000 or an unpaired surrogate/,
    ],
  ];
  for (const [method, path, headers, body, status, code, detail] of cases) {
    const answer = await send(server.base, method, path, headers, body);
    assert.is(answer.status, status, `${method} ${path}: ${answer.body.slice(0, 200)}`);
    const parsed = JSON.parse(answer.body) as {
      error?: string;
      code?: string;
      error_description?: string;
      detail?: string;
    };
    assert.is(parsed.error ?? parsed.code, code, `${method} ${path}`);
    assert.match(parsed.error_description ?? parsed.detail ?? '', detail);
    assert.not.match(answer.body, STACK);
  }

  // The admin panel, signed in: ids that are not ids, a cursor beyond bigint, NUL in filters.
  const admin = new AdminClient(server.base);
  await admin.login(server.adminEmail, server.adminPassword);
  const csrf = await admin.csrf('/admin/users');
  const pages: [string, number, RegExp][] = [
    ['/admin/audit?before=99999999999999999999', 400, /before: must be an event position/],
    ['/admin/audit?before=9223372036854775808', 400, /before: must be an event position/],
    ['/admin/audit?before=abc', 400, /before: must be an event position/],
    ['/admin/audit?user=%00', 400, /cannot be used here/],
    ['/admin/audit?stream=a%00b', 400, /cannot be used here/],
    ['/admin/tokens?client=%00', 400, /cannot be used here/],
    ['/admin/memory?q=%00', 400, /cannot be used here/],
  ];
  for (const [path, status, detail] of pages) {
    const page = await admin.get(path, 'application/json');
    assert.is(page.status, status, `${path}: ${page.text.slice(0, 200)}`);
    assert.match((JSON.parse(page.text) as { detail: string }).detail, detail);
    assert.not.match(page.text, STACK);
  }
  assert.is((await admin.get('/admin/audit?before=9223372036854775807')).status, 200);
  for (const id of ['not-a-uuid', '1'.repeat(40), "'", '%00', '%ff', 'x'.repeat(300)]) {
    for (const action of ['disable', 'enable', 'password', 'roles']) {
      const answer = await admin.post(
        `/admin/users/${id}/${action}`,
        { csrf, password: 'long-enough-password' },
        { accept: 'application/json' },
      );
      assert.is(answer.status, 404, `users/${id}/${action}: ${answer.text.slice(0, 200)}`);
      assert.is((JSON.parse(answer.text) as { code: string }).code, 'user_not_found');
    }
    for (const path of [
      `/admin/tokens/grants/${id}/revoke`,
      `/admin/clients/${id}/delete`,
      `/admin/tokens/access/${id}/revoke`,
    ]) {
      const answer = await admin.post(path, { csrf });
      assert.ok(answer.status < 500, `${path} → ${answer.status}`);
    }
  }
});

test('bodies cut off mid-way on /mcp (20 clients): no request is left hanging, the endpoint keeps answering', async ({
  server,
}) => {
  const url = new URL(server.base);
  const { Socket } = await import('node:net');
  // A real token, so the body is read (authentication comes first).
  const { tokens } = await freshTokens(server);
  await Promise.all(
    Array.from(
      { length: 20 },
      () =>
        new Promise<void>((resolve) => {
          const socket = new Socket();
          socket.connect(Number(url.port), url.hostname, () => {
            socket.write(
              `POST /mcp HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${tokens.access_token}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"jsonrpc":"2.0",`,
            );
            setTimeout(() => socket.destroy(), 20);
          });
          socket.on('close', () => resolve());
          socket.on('error', () => undefined);
        }),
    ),
  );
  const answer = await fetch(`${server.base}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  assert.is(answer.status, 401);
});

test.run();
