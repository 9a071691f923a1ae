// /mcp with REAL access tokens from the server's own OAuth flow (authorize → login → consent → token)
// and the real tool registry: the product path end to end, plus revocation and hijack with real tokens.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { messageStream } from '../../domain/sessions/index.ts';
import { SYSTEM } from '../../domain/shared.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { freshTokens } from '../http/oauth/support.ts';
import { postRpc, sessionHeaders } from './raw.ts';

const test = suite<{ server: TestServer }>('mcp: real OAuth tokens, real tools');

test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.stop());

const connect = async (server: TestServer, token: string) => {
  const client = new Client({ name: 'e2e-real', version: '1' });
  const transport = new StreamableHTTPClientTransport(new URL(`${server.base}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return { client, transport };
};

test('a token from the authorization code flow opens a session, lists and calls real tools, ends it', async ({
  server,
}) => {
  const { tokens } = await freshTokens(server);
  const { client, transport } = await connect(server, tokens.access_token);
  const list = await client.listTools();
  assert.ok(
    list.tools.some((tool) => tool.name === 'system_info'),
    'the registry tools are offered',
  );
  const info = await client.callTool({ name: 'system_info', arguments: {} });
  assert.is(info.isError, undefined);
  assert.match(JSON.stringify(info.content), /remotemcp/);
  // The audit event is written in the same transaction as the stored response (one commit per call, not
  // one for the audit and another for the response). system_info only reads: that commit may still be
  // under way when the client has the result.
  await server.services.groupCommit.flush();
  const [audit] = (
    await server.services.db.query<{ tx: string }>(
      `SELECT transaction_id::text AS tx FROM events WHERE event_type = 'ToolCalled' AND data->>'tool' = 'system_info' AND data->>'sessionId' = $1`,
      [transport.sessionId],
    )
  ).rows;
  // The stored message is sealed (personal data), so it is found through the log, which opens it.
  const stored = await server.services.log.readStream(messageStream(transport.sessionId!));
  const result = stored.find((event) => {
    const message = (event.data as { message?: { result?: Record<string, unknown> } }).message;
    return message?.result !== undefined && 'content' in message.result;
  });
  const [response] = result
    ? (
        await server.services.db.query<{ tx: string }>(
          `SELECT transaction_id::text AS tx FROM events WHERE event_id = $1`,
          [result.id],
        )
      ).rows
    : [];
  assert.ok(audit && response, 'both the audit event and the response are stored');
  assert.is(audit.tx, response.tx);
  await transport.terminateSession();
  await client.close();
});

test('revocation: a revoked token is refused on the next request (401 invalid_token)', async ({ server }) => {
  const { tokens, client: oauthClient } = await freshTokens(server);
  const { client, transport } = await connect(server, tokens.access_token);
  const sessionId = transport.sessionId!;
  const revoked = await fetch(`${server.base}/oauth/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: tokens.access_token, client_id: oauthClient.client_id }).toString(),
  });
  assert.is(revoked.status, 200);
  const started = Date.now();
  const response = await postRpc(
    `${server.base}/mcp`,
    { jsonrpc: '2.0', id: 1, method: 'tools/list' },
    sessionHeaders(tokens.access_token, sessionId),
  );
  assert.is(response.status, 401);
  assert.ok(Date.now() - started < 1_000);
  assert.match(response.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  await client.close();
});

test("another user's real token cannot use the session (404)", async ({ server }) => {
  await server.services.users.create({ email: 'other@example.test', password: 'other-password-123' }, SYSTEM);
  const owner = await freshTokens(server);
  const other = await freshTokens(server, { user: { email: 'other@example.test', password: 'other-password-123' } });
  const { client, transport } = await connect(server, owner.tokens.access_token);
  const response = await postRpc(
    `${server.base}/mcp`,
    { jsonrpc: '2.0', id: 1, method: 'tools/list' },
    sessionHeaders(other.tokens.access_token, transport.sessionId!),
  );
  assert.is(response.status, 404);
  await client.close();
});

test.run();
