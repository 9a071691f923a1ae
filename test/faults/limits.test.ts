// Issue 8: rate limits per token on /mcp and per client on the token endpoint (429 + Retry-After), and
// the /metrics counters for tokens, tool calls and active sessions.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../support/server.ts';
import { freshTokens, tokenRequest } from '../http/oauth/support.ts';
import { openSession, postRpc, sessionHeaders } from '../mcp/raw.ts';

const test = suite<{ server: TestServer }>('faults: rate limits and counters');
test.before(async (context) => {
  context.server = await startTestServer({ MCP_RATE_LIMIT_PER_MINUTE: '4', OAUTH_RATE_LIMIT_PER_MINUTE: '3' });
});
test.after(async ({ server }) => server.stop());

test('/mcp: the token over its per-minute budget gets 429 with Retry-After; another token is unaffected', async ({
  server,
}) => {
  const first = await freshTokens(server);
  const sessionId = await openSession(server.base, first.tokens.access_token); // 2 requests
  const call = (token: string, id: number) =>
    postRpc(
      `${server.base}/mcp`,
      {
        jsonrpc: '2.0',
        id,
        method: 'tools/call',
        params: { name: 'system_whoami', arguments: {} },
      },
      sessionHeaders(token, sessionId),
    );
  assert.is((await call(first.tokens.access_token, 1)).status, 200);
  assert.is((await call(first.tokens.access_token, 2)).status, 200);
  const limited = await call(first.tokens.access_token, 3);
  assert.is(limited.status, 429);
  assert.match(limited.headers.get('retry-after') ?? '', /^\d+$/);
  const other = await freshTokens(server);
  const otherSession = await openSession(server.base, other.tokens.access_token);
  assert.ok(otherSession);
});

test('token endpoint: one client over its budget gets 429 rate_limited', async ({ server }) => {
  const { client, tokens } = await freshTokens(server); // 1 token request
  let refresh = tokens.refresh_token;
  for (let i = 0; i < 2; i += 1) {
    const ok = await tokenRequest(server.base, {
      grant_type: 'refresh_token',
      refresh_token: refresh,
      client_id: client.client_id,
    });
    assert.is(ok.status, 200, JSON.stringify(ok.body));
    refresh = (ok.body as { refresh_token: string }).refresh_token;
  }
  const limited = await tokenRequest(server.base, {
    grant_type: 'refresh_token',
    refresh_token: refresh,
    client_id: client.client_id,
  });
  assert.is(limited.status, 429);
  assert.is((limited.body as { error: string }).error, 'rate_limited');
});

test('/metrics counts tokens issued, tool calls and active sessions', async ({ server }) => {
  const text = await (await fetch(`${server.base}/metrics`)).text();
  assert.match(text, /remotemcp_tokens_issued_total\{grant_type="authorization_code"\} [1-9]/);
  assert.match(text, /remotemcp_tokens_issued_total\{grant_type="refresh_token"\} 2/);
  assert.match(text, /remotemcp_tool_calls_total\{tool="system_whoami",outcome="ok"\} 2/);
  assert.match(text, /remotemcp_mcp_sessions_active [1-9]/);
});

test.run();
