// /mcp security rules, each tried and refused with an exact outcome (status, error code, events).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { messageStream, sessionStream } from '../../domain/sessions/index.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { StandInTokens, toolCalls, useStandIns } from './support.ts';

type Context = { server: TestServer; tokens: StandInTokens; resource: string };
const test = suite<Context>('mcp: security rules');

test.before(async (context) => {
  context.server = await startTestServer({ CORS_ORIGINS: 'https://inspector.example' });
  context.tokens = await StandInTokens.create();
  context.resource = `${context.server.base}/mcp`;
  await useStandIns(context.server, context.tokens);
});
test.after(async ({ server }) => server.stop());

const ACCEPT = 'application/json, text/event-stream';
const INIT = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

const post = (context: Context, body: unknown, headers: Record<string, string> = {}) =>
  fetch(context.resource, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** Opens a session for a token; returns its id. */
const open = async (context: Context, token: string): Promise<string> => {
  const response = await post(context, INIT, { authorization: `Bearer ${token}` });
  assert.is(response.status, 200);
  await response.text();
  const sessionId = response.headers.get('mcp-session-id')!;
  const initialized = await post(
    context,
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    { authorization: `Bearer ${token}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' },
  );
  assert.is(initialized.status, 202);
  return sessionId;
};

const inSession = (token: string, sessionId: string) => ({
  authorization: `Bearer ${token}`,
  'mcp-session-id': sessionId,
  'mcp-protocol-version': '2025-11-25',
});
const challenge = (base: string) =>
  `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp", scope="mcp:tools:read mcp:tools:write"`;
/** The stable code inside a JSON-RPC error answer (`error.data.code`); /mcp answers in no other shape. */
const rpcCode = async (response: Response): Promise<string> => {
  const body = (await response.json()) as {
    jsonrpc: string;
    id: null;
    error: { code: number; data: { code: string } };
  };
  assert.is(body.jsonrpc, '2.0');
  assert.is(body.id, null);
  assert.is(body.error.code, -32000);
  return body.error.data.code;
};

const sessionCount = async (context: Context) =>
  (await context.server.services.log.readAll({ maxCount: 100_000 })).filter(
    (event) => event.type === 'McpSessionOpened',
  ).length;

test('no token → 401 with the resource metadata challenge, no session opened', async (context) => {
  const before = await sessionCount(context);
  const response = await post(context, INIT);
  assert.is(response.status, 401);
  assert.is(response.headers.get('www-authenticate'), challenge(context.server.base));
  assert.is(await rpcCode(response), 'unauthorized');
  assert.is(await sessionCount(context), before);
});

test('garbage, expired, revoked and other-audience tokens → 401 invalid_token', async (context) => {
  const expired = await context.tokens.issue({ sub: 'user-a', aud: context.resource, ttlSeconds: -10 });
  const other = await context.tokens.issue({ sub: 'user-a', aud: 'https://other.example/mcp' });
  const revoked = await context.tokens.issue({ sub: 'user-a', aud: context.resource });
  const sessionId = await open(context, revoked.token);
  context.tokens.revoke(revoked.jti);
  const cases: [string, Record<string, string>, string][] = [
    ['garbage', { authorization: 'Bearer not-a-jwt' }, 'the token is not valid'],
    ['not bearer', { authorization: 'Basic dXNlcjpwYXNz' }, 'the Authorization header is not a bearer token'],
    ['expired', { authorization: `Bearer ${expired.token}` }, 'the token has expired'],
    ['other audience', { authorization: `Bearer ${other.token}` }, 'the token is not for this resource'],
    ['revoked (refused at once, mid-session)', inSession(revoked.token, sessionId), 'the token was revoked'],
  ];
  const before = await sessionCount(context);
  for (const [name, headers, description] of cases) {
    const response = await post(
      context,
      headers['mcp-session-id'] ? { jsonrpc: '2.0', id: 1, method: 'tools/list' } : INIT,
      headers,
    );
    assert.is(response.status, 401, name);
    assert.is(
      response.headers.get('www-authenticate'),
      `${challenge(context.server.base)}, error="invalid_token", error_description="${description}"`,
      name,
    );
    assert.is(await rpcCode(response), 'invalid_token', name);
  }
  assert.is(await sessionCount(context), before);
});

test('a tool call outside the token scopes → 403 insufficient_scope naming the scope; the tool does not run', async (context) => {
  const { token } = await context.tokens.issue({ sub: 'user-a', aud: context.resource, scopes: ['mcp:tools:read'] });
  const sessionId = await open(context, token);
  const ran = toolCalls.length;
  const response = await post(
    context,
    { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'write_note', arguments: { text: 'x' } } },
    inSession(token, sessionId),
  );
  assert.is(response.status, 403);
  assert.is(
    response.headers.get('www-authenticate'),
    `Bearer resource_metadata="${context.server.base}/.well-known/oauth-protected-resource/mcp", scope="mcp:tools:write", error="insufficient_scope", error_description="requires mcp:tools:write"`,
  );
  assert.is(await rpcCode(response), 'insufficient_scope');
  assert.is(toolCalls.length, ran);
  // The read tool is allowed with the same token.
  const ok = await post(
    context,
    { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x' } } },
    inSession(token, sessionId),
  );
  assert.is(ok.status, 200);
  assert.match(await ok.text(), /"text":"x"/);
  // A token with no MCP scope at all cannot use the endpoint.
  const none = await context.tokens.issue({ sub: 'user-a', aud: context.resource, scopes: ['openid'] });
  const refused = await post(context, INIT, { authorization: `Bearer ${none.token}` });
  assert.is(refused.status, 403);
  assert.match(refused.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
});

test('session hijack: another user, or the same user through another client → 404 (existence not revealed)', async (context) => {
  const owner = await context.tokens.issue({ sub: 'user-a', aud: context.resource, clientId: 'client-1' });
  const sessionId = await open(context, owner.token);
  const otherUser = await context.tokens.issue({ sub: 'user-b', aud: context.resource, clientId: 'client-1' });
  const otherClient = await context.tokens.issue({ sub: 'user-a', aud: context.resource, clientId: 'client-2' });
  const host = await context.server.services.mcp.sessions.find(sessionId, {
    userId: 'user-a',
    clientId: 'client-1',
    scopes: [],
    tokenId: undefined,
  });
  await host!.resumption.flush();
  const written = (await context.server.services.log.readStream(messageStream(sessionId))).length;
  for (const intruder of [otherUser.token, otherClient.token]) {
    const call = await post(
      context,
      { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'echo', arguments: { text: 'mine' } } },
      inSession(intruder, sessionId),
    );
    assert.is(call.status, 404);
    assert.equal(await call.json(), {
      jsonrpc: '2.0',
      error: { code: -32001, message: 'Session not found' },
      id: null,
    });
    const get = await fetch(context.resource, {
      headers: { ...inSession(intruder, sessionId), accept: 'text/event-stream' },
    });
    assert.is(get.status, 404);
    const del = await fetch(context.resource, { method: 'DELETE', headers: inSession(intruder, sessionId) });
    assert.is(del.status, 404);
  }
  assert.is((await context.server.services.log.readStream(messageStream(sessionId))).length, written);
  assert.equal(
    (await context.server.services.log.readStream(sessionStream(sessionId))).map((event) => event.type),
    ['McpSessionOpened'],
  );
  // A new token of the owner (same user and client) continues the session.
  const renewed = await context.tokens.issue({ sub: 'user-a', aud: context.resource, clientId: 'client-1' });
  const ok = await post(context, { jsonrpc: '2.0', id: 10, method: 'tools/list' }, inSession(renewed.token, sessionId));
  assert.is(ok.status, 200);
});

test('unknown session id → 404; missing session id → 400', async (context) => {
  const { token } = await context.tokens.issue({ sub: 'user-a', aud: context.resource });
  const unknown = await post(
    context,
    { jsonrpc: '2.0', id: 1, method: 'tools/list' },
    inSession(token, '00000000-0000-4000-8000-000000000000'),
  );
  assert.is(unknown.status, 404);
  const missing = await post(
    context,
    { jsonrpc: '2.0', id: 1, method: 'tools/list' },
    { authorization: `Bearer ${token}` },
  );
  assert.is(missing.status, 400);
  assert.equal(await missing.json(), {
    jsonrpc: '2.0',
    error: { code: -32000, message: 'Bad Request: Mcp-Session-Id header is required' },
    id: null,
  });
});

test('Origin: a foreign origin → 403 before authentication; allowed origins get CORS with the MCP headers exposed', async (context) => {
  const { token } = await context.tokens.issue({ sub: 'user-a', aud: context.resource });
  const bad = await post(context, INIT, { authorization: `Bearer ${token}`, origin: 'https://evil.example' });
  assert.is(bad.status, 403);
  assert.is(await rpcCode(bad), 'forbidden_origin');
  assert.is(bad.headers.get('access-control-allow-origin'), null);
  for (const origin of [context.server.base, 'https://inspector.example']) {
    const preflight = await fetch(context.resource, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, mcp-session-id, mcp-protocol-version, content-type',
      },
    });
    assert.is(preflight.status, 204);
    assert.is(preflight.headers.get('access-control-allow-origin'), origin);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /Mcp-Session-Id/);
    const ok = await post(context, INIT, { authorization: `Bearer ${token}`, origin });
    assert.is(ok.status, 200);
    await ok.text();
    assert.is(ok.headers.get('access-control-allow-origin'), origin);
    assert.is(ok.headers.get('access-control-expose-headers'), 'Mcp-Session-Id,MCP-Protocol-Version,WWW-Authenticate');
  }
});

test('DNS rebinding: a loopback-bound server refuses a foreign Host header', async (context) => {
  const { token } = await context.tokens.issue({ sub: 'user-a', aud: context.resource });
  const { request } = await import('node:http');
  const url = new URL(context.resource);
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: '/mcp',
        method: 'POST',
        headers: {
          host: 'attacker.example',
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: ACCEPT,
        },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(INIT));
  });
  assert.is(status, 403);
});

test('protocol version header: unsupported → 400; malformed JSON → 400 -32700; not JSON-RPC → 400; wrong content type → 415; oversized → 413', async (context) => {
  const { token } = await context.tokens.issue({ sub: 'user-a', aud: context.resource });
  const sessionId = await open(context, token);
  const headers = inSession(token, sessionId);
  const wrongVersion = await post(
    context,
    { jsonrpc: '2.0', id: 1, method: 'tools/list' },
    { ...headers, 'mcp-protocol-version': '1999-01-01' },
  );
  assert.is(wrongVersion.status, 400);
  assert.is(((await wrongVersion.json()) as { error: { code: number } }).error.code, -32000);
  const oldVersion = await post(
    context,
    { jsonrpc: '2.0', id: 1, method: 'tools/list' },
    { ...headers, 'mcp-protocol-version': '2024-11-05' },
  );
  assert.is(oldVersion.status, 400);
  const malformed = await post(context, '{"jsonrpc":"2.0",', headers);
  assert.is(malformed.status, 400);
  assert.equal(await malformed.json(), {
    jsonrpc: '2.0',
    error: { code: -32700, message: 'Parse error: Invalid JSON' },
    id: null,
  });
  const notRpc = await post(context, { hello: 'world' }, headers);
  assert.is(notRpc.status, 400);
  assert.is(((await notRpc.json()) as { error: { code: number } }).error.code, -32700);
  const empty = await post(context, [], headers);
  assert.is(empty.status, 400);
  assert.is(((await empty.json()) as { error: { code: number } }).error.code, -32600);
  const text = await fetch(context.resource, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'text/plain', accept: ACCEPT },
    body: '{}',
  });
  assert.is(text.status, 415);
  const huge = await post(
    context,
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'x'.repeat(1024 * 1024 + 1) } },
    },
    headers,
  );
  assert.is(huge.status, 413);
  assert.is(((await huge.json()) as { error: { code: number } }).error.code, -32000);
  const put = await fetch(context.resource, { method: 'PUT', headers });
  assert.is(put.status, 405);
  assert.is(put.headers.get('allow'), 'GET, POST, DELETE');
});

test.run();
