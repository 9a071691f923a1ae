// Both MCP eras on one /mcp with REAL tokens from the server's own OAuth flow: the v2 client speaking
// 2026-07-28 (stateless path) and the v1 client speaking 2025-11-25 (sessions), the same tools, the same
// authentication, and every 2026 error answer with its exact body.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeJwt } from 'jose';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { startTestServer, type TestServer } from '../support/server.ts';
import { REDIRECT, freshTokens, obtainCode, pkce, tokenRequest } from '../http/oauth/support.ts';

const test = suite<{ server: TestServer }>('mcp: 2026-07-28 and 2025-11-25 side by side');

test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.stop());

const V2026 = '2026-07-28';
const envelope = (extra: Record<string, unknown> = {}) => ({
  'io.modelcontextprotocol/protocolVersion': V2026,
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
  ...extra,
});

/** One raw 2026 POST; `headers` override the defaults (Mcp-Method is the body's method unless given). */
const post = async (
  server: TestServer,
  token: string | undefined,
  body: { id?: number; method: string; params?: Record<string, unknown> },
  headers: Record<string, string> = {},
) => {
  const all: Record<string, string> = {
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': V2026,
    'mcp-method': body.method,
    ...headers,
  };
  // An empty value in `headers` means: do not send that header.
  for (const [name, value] of Object.entries(all)) if (value === '') delete all[name];
  const response = await fetch(`${server.base}/mcp`, {
    method: 'POST',
    headers: all,
    body: JSON.stringify({ jsonrpc: '2.0', id: body.id ?? 1, ...body }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: text ? JSON.parse(text) : undefined };
};

/** A second token of the same client and user, with other scopes (one more authorization code). */
const anotherToken = async (server: TestServer, clientId: string, scope: string): Promise<string> => {
  const { verifier, challenge } = pkce();
  const callback = await obtainCode(server, {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'st',
    scope,
  });
  const exchange = await tokenRequest(server.base, {
    grant_type: 'authorization_code',
    code: callback.searchParams.get('code')!,
    redirect_uri: REDIRECT,
    code_verifier: verifier,
    client_id: clientId,
  });
  if (exchange.status !== 200) throw new Error(`exchange failed: ${JSON.stringify(exchange.body)}`);
  return exchange.body.access_token as string;
};

test('the v2 client at 2026-07-28 and the v1 client at 2025-11-25 call tools on one server', async ({ server }) => {
  const { tokens } = await freshTokens(server);
  const headers = { Authorization: `Bearer ${tokens.access_token}` };
  const modern = new Client({ name: 'e2e-v2', version: '1' }, { versionNegotiation: { mode: { pin: V2026 } } });
  const modernTransport = new StreamableHTTPClientTransport(new URL(`${server.base}/mcp`), {
    requestInit: { headers },
  });
  await modern.connect(modernTransport);
  assert.is(modern.getProtocolEra(), 'modern');
  const legacy = new ClientV1({ name: 'e2e-v1', version: '1' });
  const legacyTransport = new TransportV1(new URL(`${server.base}/mcp`), { requestInit: { headers } });
  await legacy.connect(legacyTransport);
  assert.ok(legacyTransport.sessionId, 'the 2025 client has a session');
  assert.is(modernTransport.sessionId, undefined, 'the 2026 client has none');

  const [modernList, legacyList] = [await modern.listTools(), await legacy.listTools()];
  // The same registry, in the same fixed order, for both eras.
  assert.equal(
    modernList.tools.map((tool) => tool.name),
    legacyList.tools.map((tool) => tool.name),
  );
  for (const client of [modern, legacy]) {
    const result = await client.callTool({ name: 'system_info', arguments: {} });
    assert.is(result.isError, undefined);
    assert.match(JSON.stringify(result.content), /remotemcp/);
  }
  // Both calls are audited with the caller's token id; the 2026 one has no session. system_info only
  // reads: its audit event may still be in the commit under way when the client has the result.
  await server.services.groupCommit.flush();
  const rows = (
    await server.services.db.query<{ session: string | null; token: string }>(
      `SELECT data->>'sessionId' AS session, data->>'tokenId' AS token FROM events
       WHERE event_type = 'ToolCalled' AND data->>'tool' = 'system_info' AND data->>'tokenId' = $1
       ORDER BY global_position`,
      [decodeJwt(tokens.access_token).jti],
    )
  ).rows;
  assert.equal(
    rows.map((row) => row.session),
    [null, legacyTransport.sessionId],
  );
  await legacyTransport.terminateSession();
  await legacy.close();
  await modern.close();
});

test('tools/list is the same list in the same order on every request', async ({ server }) => {
  const { tokens } = await freshTokens(server);
  const first = await post(server, tokens.access_token, { method: 'tools/list', params: { _meta: envelope() } });
  const second = await post(server, tokens.access_token, { method: 'tools/list', params: { _meta: envelope() } });
  assert.is(first.status, 200);
  const names = (answer: typeof first) => (answer.json.result.tools as { name: string }[]).map((tool) => tool.name);
  assert.equal(names(first), names(second));
  assert.equal(
    names(first),
    (await server.services.tools.list()).map((tool) => tool.name),
  );
});

test('server/discover names the revision, the capabilities, the server and the cache hints', async ({ server }) => {
  const { tokens } = await freshTokens(server);
  const answer = await post(server, tokens.access_token, { method: 'server/discover', params: { _meta: envelope() } });
  assert.is(answer.status, 200);
  assert.equal(answer.json, {
    jsonrpc: '2.0',
    id: 1,
    result: {
      supportedVersions: [V2026],
      capabilities: { tools: { listChanged: true }, extensions: { 'io.modelcontextprotocol/tasks': {} } },
      resultType: 'complete',
      ttlMs: 0,
      cacheScope: 'private',
      _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'remotemcp', version: '0.1.0' } },
    },
  });
});

test('no anonymous 2026 request: no token → 401 with the bearer challenge; a bad token → 401', async ({ server }) => {
  const anonymous = await post(server, undefined, { method: 'server/discover', params: { _meta: envelope() } });
  assert.is(anonymous.status, 401);
  assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer resource_metadata="/);
  const forged = await post(server, 'not-a-token', { method: 'tools/list', params: { _meta: envelope() } });
  assert.is(forged.status, 401);
  assert.match(forged.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
});

test('a read-only token cannot call a write tool on the 2026 path: 403 insufficient_scope, audited, no effect', async ({
  server,
}) => {
  const { tokens } = await freshTokens(server, { scope: 'mcp:tools:read' });
  const entity = `denied-${Date.now()}`;
  const answer = await post(
    server,
    tokens.access_token,
    {
      method: 'tools/call',
      params: {
        name: 'memory_create_entities',
        arguments: { entities: [{ name: entity, entityType: 'x', observations: [] }] },
        _meta: envelope(),
      },
    },
    { 'mcp-name': 'memory_create_entities' },
  );
  assert.is(answer.status, 403);
  assert.match(answer.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
  const created = await server.services.db.query(
    `SELECT 1 FROM events WHERE data::text LIKE $1 AND event_type <> 'ToolCalled'`,
    [`%${entity}%`],
  );
  assert.is(created.rowCount, 0, 'nothing was created');
  const audit = await server.services.db.query<{ outcome: string }>(
    `SELECT data->>'outcome' AS outcome FROM events WHERE event_type = 'ToolCalled' AND data->>'tokenId' = $1`,
    [decodeJwt(tokens.access_token).jti],
  );
  assert.equal(
    audit.rows.map((row) => row.outcome),
    ['denied'],
  );
});

test('a legacy session uses the token of each request: read-only opener, read+write caller', async ({ server }) => {
  const { client, tokens } = await freshTokens(server, { scope: 'mcp:tools:read' });
  const writer = await anotherToken(server, client.client_id, 'mcp:tools:read mcp:tools:write');
  let current = tokens.access_token;
  const legacy = new ClientV1({ name: 'per-request', version: '1' });
  const transport = new TransportV1(new URL(`${server.base}/mcp`), {
    fetch: (url, init) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${current}`);
      return fetch(url, { ...init, headers });
    },
  });
  await legacy.connect(transport);
  const entity = `per-request-${Date.now()}`;
  const args = { entities: [{ name: entity, entityType: 'test', observations: [] }] };
  // The opener's token alone is refused before dispatch.
  const refused = await legacy.callTool({ name: 'memory_create_entities', arguments: args }).then(
    () => 'accepted',
    (error: Error) => error.message,
  );
  assert.match(refused, /403|insufficient_scope/);
  current = writer;
  const result = await legacy.callTool({ name: 'memory_create_entities', arguments: args });
  assert.is(result.isError, undefined, JSON.stringify(result.content));
  const audit = await server.services.db.query<{ token: string; outcome: string; session: string }>(
    `SELECT data->>'tokenId' AS token, data->>'outcome' AS outcome, data->>'sessionId' AS session FROM events
     WHERE event_type = 'ToolCalled' AND data->>'tool' = 'memory_create_entities' AND data->>'sessionId' = $1
     ORDER BY global_position`,
    [transport.sessionId],
  );
  assert.equal(audit.rows, [
    { token: decodeJwt(tokens.access_token).jti, outcome: 'denied', session: transport.sessionId },
    { token: decodeJwt(writer).jti, outcome: 'ok', session: transport.sessionId },
  ]);
  await transport.terminateSession();
  await legacy.close();
});

test('subscriptions/listen: an admin disabling a tool reaches an open listen stream as tools/list_changed', async ({
  server,
}) => {
  const { tokens } = await freshTokens(server);
  const controller = new AbortController();
  const response = await fetch(`${server.base}/mcp`, {
    method: 'POST',
    signal: controller.signal,
    headers: {
      authorization: `Bearer ${tokens.access_token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': V2026,
      'mcp-method': 'subscriptions/listen',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'subscriptions/listen',
      params: { notifications: { toolsListChanged: true }, _meta: envelope() },
    }),
  });
  assert.is(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  const until = async (method: string) => {
    while (!text.includes(`"method":"${method}"`)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended before ${method}: ${text}`);
      text += value;
    }
  };
  await until('notifications/subscriptions/acknowledged');
  assert.not.match(text, /list_changed/);
  const admin = { type: 'user' as const, id: 'admin-eras' };
  await server.services.tools.setEnabled('system_info', false, admin);
  try {
    await until('notifications/tools/list_changed');
  } finally {
    await server.services.tools.setEnabled('system_info', true, admin);
    controller.abort();
  }
});

test('2026 error answers, exact: -32022, -32602, -32020 (method, name, missing header), 404 -32601', async ({
  server,
}) => {
  const { tokens } = await freshTokens(server);
  const token = tokens.access_token;
  const unsupported = await post(
    server,
    token,
    {
      id: 4,
      method: 'tools/list',
      params: { _meta: envelope({ 'io.modelcontextprotocol/protocolVersion': '2099-01-01' }) },
    },
    { 'mcp-protocol-version': '2099-01-01' },
  );
  assert.is(unsupported.status, 400);
  assert.equal(unsupported.json, {
    jsonrpc: '2.0',
    error: {
      code: -32022,
      message: 'Unsupported protocol version: 2099-01-01',
      data: { supported: [V2026], requested: '2099-01-01' },
    },
    id: 4,
  });
  const badMeta = await post(server, token, {
    id: 5,
    method: 'tools/list',
    params: { _meta: envelope({ 'io.modelcontextprotocol/clientInfo': 42 }) },
  });
  assert.is(badMeta.status, 400);
  assert.equal(badMeta.json, {
    jsonrpc: '2.0',
    error: {
      code: -32602,
      message:
        'Invalid _meta envelope for protocol revision 2026-07-28: io.modelcontextprotocol/clientInfo: Invalid input: expected object, received number',
      data: {
        envelope: {
          key: 'io.modelcontextprotocol/clientInfo',
          problem: 'Invalid input: expected object, received number',
        },
      },
    },
    id: 5,
  });
  const methodMismatch = await post(
    server,
    token,
    { id: 6, method: 'tools/list', params: { _meta: envelope() } },
    { 'mcp-method': 'prompts/list' },
  );
  assert.is(methodMismatch.status, 400);
  const mismatch = 'the body names method tools/list but the Mcp-Method header names prompts/list';
  assert.equal(methodMismatch.json, {
    jsonrpc: '2.0',
    error: {
      code: -32020,
      message: `Bad Request: the request headers and body disagree: ${mismatch}`,
      data: { mismatch: { header: 'prompts/list', body: mismatch } },
    },
    id: 6,
  });
  const nameMismatch = await post(
    server,
    token,
    { id: 7, method: 'tools/call', params: { name: 'system_info', arguments: {}, _meta: envelope() } },
    { 'mcp-name': 'fs_write_file' },
  );
  assert.is(nameMismatch.status, 400);
  assert.equal(nameMismatch.json.error.code, -32020);
  assert.equal(nameMismatch.json.error.data.mismatch.header, 'fs_write_file');
  const missing = await post(
    server,
    token,
    { id: 8, method: 'tools/list', params: { _meta: envelope() } },
    { 'mcp-method': '' },
  );
  assert.is(missing.status, 400);
  assert.is(missing.json.error.code, -32020);
  assert.is(missing.json.error.data.mismatch.header, '(missing)');
  // Methods the revision removed (the initialize handshake, logging/setLevel).
  for (const method of ['initialize', 'logging/setLevel']) {
    const removed = await post(server, token, { id: 9, method, params: { _meta: envelope() } });
    assert.is(removed.status, 404, method);
    assert.equal(removed.json, { jsonrpc: '2.0', id: 9, error: { code: -32601, message: 'Method not found' } });
  }
});

test.run();
