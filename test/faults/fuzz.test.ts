// A fuzz pass over the HTTP surface: malformed JSON, wrong content types, bad UTF-8, odd methods,
// huge headers and bodies, hostile paths. Nothing may crash the server or answer 500 with internals.
import http from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../support/server.ts';
import { freshTokens } from '../oauth/support.ts';

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
  '/oauth/authorize',
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
