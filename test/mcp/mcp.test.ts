// /mcp end to end: the real server over HTTP, the MCP SDK client, stand-in tokens (see support.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { sessionStream } from '../../domain/sessions/index.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { StandInTokens, toolCalls, useStandIns } from './support.ts';
import { postRpc } from './raw.ts';

type Context = { server: TestServer; tokens: StandInTokens; resource: string };
const test = suite<Context>('mcp: streamable HTTP with the SDK client');

test.before(async (context) => {
  context.server = await startTestServer();
  context.tokens = await StandInTokens.create();
  context.resource = `${context.server.base}/mcp`;
  await useStandIns(context.server, context.tokens);
});
test.after(async ({ server }) => server.stop());

const connect = async (context: Context, token: string, path = '/mcp') => {
  const client = new Client({ name: 'e2e', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${context.server.base}${path}`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return { client, transport };
};

test('initialize, tools/list, tools/call, notifications on the request stream, DELETE', async (context) => {
  const { token } = await context.tokens.issue({ sub: 'user-a', aud: context.resource });
  const { client, transport } = await connect(context, token);
  const sessionId = transport.sessionId!;
  assert.match(sessionId, /^[0-9a-f-]{36}$/);
  assert.is(transport.protocolVersion, '2025-11-25');

  const tools = await client.listTools();
  assert.equal(tools.tools.map((tool) => tool.name).sort(), [
    'announce',
    'count_slowly',
    'echo',
    'peek',
    'slow_echo',
    'write_note',
  ]);
  const echoed = await client.callTool({ name: 'echo', arguments: { text: 'hello' } });
  assert.equal(echoed.content, [{ type: 'text', text: 'hello' }]);
  assert.is(toolCalls.at(-1)?.caller.userId, 'user-a');
  assert.is(toolCalls.at(-1)?.caller.sessionId, sessionId);

  const ticks: unknown[] = [];
  client.setNotificationHandler(
    LoggingMessageNotificationSchema,
    (notification) => void ticks.push(notification.params.data),
  );
  const counted = await client.callTool({ name: 'count_slowly', arguments: { count: 3, delayMs: 1 } });
  assert.equal(counted.content, [{ type: 'text', text: 'counted 3' }]);
  assert.equal(ticks, ['tick 1', 'tick 2', 'tick 3']);

  const lifecycle = await context.server.services.log.readStream(sessionStream(sessionId));
  assert.equal(
    lifecycle.map((event) => event.type),
    ['McpSessionOpened'],
  );
  assert.equal((lifecycle[0]!.data as { userId: string; clientName: string }).userId, 'user-a');

  await transport.terminateSession();
  const after = await context.server.services.log.readStream(sessionStream(sessionId));
  assert.equal(
    after.map((event) => event.type),
    ['McpSessionOpened', 'McpSessionClosed'],
  );
  await context.server.services.projections.waitFor(await context.server.services.log.headPosition());
  const { rows } = await context.server.services.db.query<{ status: string; close_reason: string }>(
    'SELECT status, close_reason FROM mcp_sessions WHERE id = $1',
    [sessionId],
  );
  assert.equal(rows, [{ status: 'closed', close_reason: 'deleted' }]);

  // The ended session is gone: 404 with JSON-RPC error -32001.
  const response = await postRpc(
    context.resource,
    { jsonrpc: '2.0', id: 1, method: 'tools/list' },
    { authorization: `Bearer ${token}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' },
  );
  assert.is(response.status, 404);
  assert.equal(await response.json(), {
    jsonrpc: '2.0',
    error: { code: -32001, message: 'Session not found' },
    id: null,
  });
  await client.close();
});

test('/mcp/ (trailing slash) is the same endpoint', async (context) => {
  const { token } = await context.tokens.issue({ sub: 'user-a', aud: context.resource });
  const { client } = await connect(context, token, '/mcp/');
  const result = await client.callTool({ name: 'echo', arguments: { text: 'slash' } });
  assert.equal(result.content, [{ type: 'text', text: 'slash' }]);
  await client.close();
});

test('older protocol revisions (2025-03-26, 2025-06-18) negotiate and work', async (context) => {
  const { token } = await context.tokens.issue({ sub: 'user-a', aud: context.resource });
  for (const version of ['2025-03-26', '2025-06-18']) {
    const response = await postRpc(
      context.resource,
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'old', version: '0' } },
      },
      { authorization: `Bearer ${token}` },
    );
    assert.is(response.status, 200);
    const text = await response.text();
    assert.match(text, new RegExp(`"protocolVersion":"${version}"`));
    // No priming event before 2025-11-25 (older clients cannot parse an empty data field).
    assert.not.match(text, /data: \n/);
  }
});

test.run();
