// The base URL each request is answered as (http/public-url.ts): with PUBLIC_URL unset, the loopback
// origin the request names; with it set, PUBLIC_URL exactly, and every other Host is told where to go.
// Each rule tried and refused with an exact outcome.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { newAccessTokenId, signAccessToken } from '../../app/oauth/tokens.ts';
import { hasIpv6Loopback } from '../support/ipv6.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { pkce, publicClient } from './oauth/support.ts';

type Context = { local: TestServer; configured: TestServer; port: number; ipv6: boolean };
const test = suite<Context>('http: public URL per request (loopback names, PUBLIC_URL)');

test.before(async (context) => {
  // PUBLIC_URL '' is "unset" (app/config.ts); HOST is the default (127.0.0.1 and ::1).
  context.local = await startTestServer({ PUBLIC_URL: '', HOST: 'localhost' });
  context.port = Number(context.local.env.PORT);
  context.configured = await startTestServer({ PUBLIC_URL: 'https://mcp.example.com' });
  context.ipv6 = await hasIpv6Loopback();
});
test.after(async ({ local, configured }) => {
  await local.stop();
  await configured.stop();
});

type Answer = { status: number; headers: http.IncomingHttpHeaders; text: string; json: Record<string, unknown> };

/** A request to the server's 127.0.0.1 listener carrying any Host header (fetch cannot set Host). */
/** The stable code and message of a JSON-RPC error answer of /mcp. */
const rpcProblem = (answer: Answer): { code: unknown; detail: unknown } => {
  const error = answer.json.error as { code: number; message: string; data: { code: string } };
  assert.is(error.code, -32000);
  return { code: error.data.code, detail: error.message };
};

const send = (
  server: TestServer,
  method: string,
  path: string,
  host: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const { port } = server.server.address() as AddressInfo;
    const request = http.request({ host: '127.0.0.1', port, path, method, headers: { ...headers, host } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // HTML or empty
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    request.on('error', reject);
    request.end(body);
  });

const origins = ({ port, ipv6 }: Context) => [
  `http://localhost:${port}`,
  `http://127.0.0.1:${port}`,
  ...(ipv6 ? [`http://[::1]:${port}`] : []),
];

test('HOST=localhost listens on 127.0.0.1 and ::1 (where the machine has IPv6), one port', async (context) => {
  const addresses = context.local.servers.map((server) => (server.address() as AddressInfo).address);
  assert.equal(addresses, context.ipv6 ? ['127.0.0.1', '::1'] : ['127.0.0.1']);
  for (const origin of origins(context)) {
    const response = await fetch(`${origin}/healthz`);
    assert.is(response.status, 200, origin);
  }
});

test('PUBLIC_URL unset: metadata, issuer and the bearer challenge follow the loopback origin used', async (context) => {
  for (const origin of origins(context)) {
    const host = new URL(origin).host;
    const as = await send(context.local, 'GET', '/.well-known/oauth-authorization-server', host);
    assert.is(as.status, 200);
    assert.is(as.json.issuer, origin);
    assert.is(as.json.token_endpoint, `${origin}/oauth/token`);
    const prm = await send(context.local, 'GET', '/.well-known/oauth-protected-resource/mcp', host);
    assert.equal([prm.json.resource, prm.json.authorization_servers], [`${origin}/mcp`, [origin]]);
    const mcp = await send(context.local, 'POST', '/mcp', host, { 'content-type': 'application/json' }, '{}');
    assert.is(mcp.status, 401);
    assert.match(
      String(mcp.headers['www-authenticate']),
      `resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp"`,
    );
  }
});

test('PUBLIC_URL unset: a Host that is not a loopback name of this port → 403 forbidden_host (DNS rebinding), probes still answer', async (context) => {
  const { port } = context;
  const expected =
    `this server answers only as http://localhost:${port}, http://127.0.0.1:${port}, http://[::1]:${port}; ` +
    'to reach it under another name, set PUBLIC_URL to that URL';
  const head = String(await context.local.services.log.headPosition());
  for (const host of [
    'attacker.example',
    `attacker.example:${port}`,
    `localhost:${port + 1}`,
    '127.0.0.1',
    'a@localhost',
  ]) {
    for (const [method, path] of [
      ['GET', '/.well-known/oauth-authorization-server'],
      ['POST', '/mcp'],
      ['POST', '/admin/login'],
      ['POST', '/oauth/register'],
    ] as const) {
      const answer =
        method === 'GET'
          ? await send(context.local, method, path, host)
          : await send(context.local, method, path, host, { 'content-type': 'application/json' }, '{}');
      assert.is(answer.status, 403, `${host} ${method} ${path}`);
      // /mcp answers in JSON-RPC, the rest in problem details.
      const { code, detail } = path === '/mcp' ? rpcProblem(answer) : answer.json;
      assert.is(code, 'forbidden_host');
      assert.is(detail, expected);
    }
  }
  assert.equal(String(await context.local.services.log.headPosition()), head, 'nothing was written');
  for (const path of ['/healthz', '/readyz', '/metrics'])
    assert.is((await send(context.local, 'GET', path, 'attacker.example')).status, 200, path);
});

test('PUBLIC_URL set: any other Host gets an error that names PUBLIC_URL (HTML and JSON); probes answer under any Host', async (context) => {
  const server = context.configured;
  const { port } = server.server.address() as AddressInfo;
  const expected = 'this server is configured as https://mcp.example.com; open it there';
  const page = await send(server, 'GET', '/', 'evil.example', { accept: 'text/html' });
  assert.is(page.status, 403);
  assert.match(page.text, expected);
  for (const host of [
    'evil.example',
    `evil.example:${port}`,
    'example.com',
    'mcp.example.com:8443',
    'mcp.example.com.evil',
  ]) {
    const answer = await send(server, 'GET', '/.well-known/oauth-authorization-server', host);
    assert.is(answer.status, 403, host);
    assert.equal([answer.json.code, answer.json.detail], ['forbidden_host', expected]);
  }
  for (const path of ['/healthz', '/readyz', '/metrics'])
    assert.is((await send(server, 'GET', path, 'evil.example')).status, 200, path);
  // Under its own name, and under a loopback name (this machine: a reverse proxy that sends the upstream's
  // address as Host), the issuer is exactly PUBLIC_URL (a default port may be written out).
  for (const host of ['mcp.example.com', 'mcp.example.com:443', `127.0.0.1:${port}`, 'localhost']) {
    const metadata = await send(server, 'GET', '/.well-known/oauth-authorization-server', host);
    assert.is(metadata.json.issuer, 'https://mcp.example.com', host);
  }
});

test('a token whose iss is not a loopback origin of this port → 401 invalid_token at /mcp; the same token from a loopback issuer passes', async (context) => {
  const { local, port } = context;
  const admin = (await local.services.users.byEmail(local.adminEmail))!;
  const token = (issuer: string) =>
    signAccessToken(local.services.oauth.keys, {
      issuer,
      audience: `http://127.0.0.1:${port}/mcp`,
      subject: admin.id,
      clientId: 'loopback-test',
      scopes: ['mcp:tools:read'],
      jti: newAccessTokenId(randomUUID()),
      issuedAt: new Date(),
      expiresAt: new Date(Date.now() + 60_000),
    });
  const initialize = JSON.stringify({
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });
  const call = async (issuer: string) =>
    send(
      local,
      'POST',
      '/mcp',
      `127.0.0.1:${port}`,
      {
        authorization: `Bearer ${await token(issuer)}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      initialize,
    );
  for (const issuer of [`http://evil.example:${port}`, `http://127.0.0.1:${port + 1}`, 'https://mcp.example.com']) {
    const refused = await call(issuer);
    assert.is(refused.status, 401, issuer);
    assert.equal(rpcProblem(refused), { code: 'invalid_token', detail: 'the token was issued by someone else' });
  }
  assert.is((await call(`http://localhost:${port}`)).status, 200);
});

test('a form POST with neither Origin nor Referer, or from another loopback name, → 403 csrf_failed', async (context) => {
  const { local, port } = context;
  const host = `127.0.0.1:${port}`;
  const form = await send(local, 'GET', '/admin/login', host);
  const cookie = String(form.headers['set-cookie']?.[0] ?? '').split(';')[0]!;
  const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)?.[1] ?? '';
  const body = new URLSearchParams({ email: local.adminEmail, password: local.adminPassword, csrf }).toString();
  const headers = { 'content-type': 'application/x-www-form-urlencoded', cookie };
  for (const extra of [{}, { origin: `http://localhost:${port}` }, { referer: `http://[::1]:${port}/admin/login` }]) {
    const answer = await send(local, 'POST', '/admin/login', host, { ...headers, ...extra }, body);
    assert.is(answer.status, 403, JSON.stringify(extra));
    assert.is(answer.json.code, 'csrf_failed');
    assert.is(answer.json.detail, 'request did not come from this site');
  }
  const ok = await send(local, 'POST', '/admin/login', host, { ...headers, origin: `http://${host}` }, body);
  assert.is(ok.status, 303);
});

test('a resource naming another loopback name of this port is the same resource (RFC 8707); another port is not', async (context) => {
  const { local, port } = context;
  const redirect = 'http://127.0.0.1:9999/callback';
  const client = await publicClient(local, redirect);
  const admin = (await local.services.users.byEmail(local.adminEmail))!;
  const { authorizations } = local.services.oauth;
  const code = async (resource: string) => {
    const { verifier, challenge } = pkce();
    const issuer = `http://localhost:${port}`;
    const { request } = await authorizations.begin(
      {
        response_type: 'code',
        client_id: client.client_id,
        redirect_uri: redirect,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        resource,
      },
      new Date(),
      issuer,
    );
    const location = new URL(await authorizations.approve(request, admin.id, new Date(), false, new Date(), issuer));
    assert.is(location.searchParams.get('iss'), issuer);
    return { code: location.searchParams.get('code')!, verifier };
  };
  const exchange = async (grant: { code: string; verifier: string }, resource: string) =>
    send(
      local,
      'POST',
      '/oauth/token',
      `127.0.0.1:${port}`,
      { 'content-type': 'application/x-www-form-urlencoded' },
      new URLSearchParams({
        grant_type: 'authorization_code',
        code: grant.code,
        code_verifier: grant.verifier,
        redirect_uri: redirect,
        client_id: client.client_id,
        resource,
      }).toString(),
    );
  const sibling = context.ipv6 ? `http://[::1]:${port}/mcp` : `http://localhost:${port}/mcp`;
  const ok = await exchange(await code(`http://127.0.0.1:${port}/mcp/`), sibling);
  assert.is(ok.status, 200);
  const claims = JSON.parse(Buffer.from(String(ok.json.access_token).split('.')[1]!, 'base64url').toString()) as {
    iss: string;
    aud: string;
  };
  // aud: the resource named at authorization; iss: the issuer the token request was sent to.
  assert.equal([claims.aud, claims.iss], [`http://127.0.0.1:${port}/mcp`, `http://127.0.0.1:${port}`]);
  const otherPort = await exchange(await code(`http://127.0.0.1:${port}/mcp`), `http://127.0.0.1:${port + 1}/mcp`);
  assert.equal([otherPort.status, otherPort.json.error], [400, 'invalid_target']);
  const refused = await authorizations
    .begin(
      {
        response_type: 'code',
        client_id: client.client_id,
        redirect_uri: redirect,
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
        resource: `http://localhost:${port + 1}/mcp`,
      },
      new Date(),
      `http://localhost:${port}`,
    )
    .then(
      () => 'accepted',
      (error: Error & { code?: string }) => error.code,
    );
  assert.is(refused, 'invalid_target');
});

test('PUBLIC_URL set: a sign-in from a page opened by a loopback address → 403 csrf_failed naming PUBLIC_URL', async ({
  configured,
}) => {
  const { port } = configured.server.address() as AddressInfo;
  const host = `127.0.0.1:${port}`;
  const form = await send(configured, 'GET', '/admin/login', host);
  const cookie = String(form.headers['set-cookie']?.[0] ?? '').split(';')[0]!;
  const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)?.[1] ?? '';
  const answer = await send(
    configured,
    'POST',
    '/admin/login',
    host,
    { 'content-type': 'application/x-www-form-urlencoded', cookie, origin: `http://${host}` },
    new URLSearchParams({ email: configured.adminEmail, password: configured.adminPassword, csrf }).toString(),
  );
  assert.equal(
    [answer.status, answer.json.code, answer.json.detail],
    [403, 'csrf_failed', 'this server is configured as https://mcp.example.com; open it there'],
  );
});

test.run();
