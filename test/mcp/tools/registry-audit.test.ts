// When a tool call's audit event is durable, in both eras. A tool that changes something answers only
// once its audit event is committed: on sessions the response is stored through the same group commit,
// on the 2026-07-28 path the result waits for the audit's own commit. A read-only tool changes nothing:
// its result goes out with the audit's commit under way. The tests hold the audit stream's row lock from
// another connection: while it is held, no audit can commit.
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { freshTokens } from '../../http/oauth/support.ts';
import { serverUrl } from '../../support/databases.ts';
import { skipSuite } from '../../support/skip.ts';
import { callTool, openSession, postRpc } from '../raw.ts';

const NAME = 'tools: when the audit event is durable, against the result';

type Context = { server: TestServer; token: string; userId: string };

const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'audit-test', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

/** tools/call on the 2026-07-28 path. */
const modernCall = (server: TestServer, token: string, id: number, name: string, args: Record<string, unknown>) =>
  postRpc(
    `${server.base}/mcp`,
    { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, _meta: MODERN_META } },
    {
      authorization: `Bearer ${token}`,
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': name,
    },
  );

const audited = async (server: TestServer, userId: string): Promise<string[]> =>
  (await server.services.log.readStream(`audit-tools-${userId}`))
    .filter((event) => event.type === 'ToolCalled')
    .map((event) => (event.data as { tool: string }).tool);

/** Holds the user's audit stream row until the returned function releases it. */
const holdAudit = async (context: Context): Promise<() => Promise<void>> => {
  const blocker = new pg.Client({ connectionString: context.server.env.DATABASE_URL });
  await blocker.connect();
  await blocker.query('BEGIN');
  const locked = await blocker.query('SELECT 1 FROM event_streams WHERE stream_id = $1 FOR UPDATE', [
    `audit-tools-${context.userId}`,
  ]);
  assert.is(locked.rowCount, 1, 'the audit stream exists and is held');
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    await blocker.query('COMMIT');
    await blocker.end();
  };
};

/** The reply's whole text. */
const textOf = (reply: Promise<Response>): Promise<string> => reply.then((response) => response.text());

/** The text, or 'waiting' when it did not come within `ms`. */
const within = (text: Promise<string>, ms: number): Promise<string> =>
  Promise.race([text, new Promise<string>((resolve) => setTimeout(() => resolve('waiting'), ms))]);

const eventually = async (check: () => Promise<boolean>, ms = 5_000): Promise<boolean> => {
  for (const until = Date.now() + ms; Date.now() < until; await new Promise((resolve) => setTimeout(resolve, 20)))
    if (await check()) return true;
  return check();
};

if (!serverUrl()) skipSuite(NAME, 'TEST_DATABASE_URL not set (a second connection holds a row lock)', 4);
else {
  const test = suite<Context>(NAME);

  test.before(async (context) => {
    context.server = await startTestServer();
    context.token = (await freshTokens(context.server)).tokens.access_token;
    // The first call creates the audit stream's row.
    const first = await modernCall(context.server, context.token, 1, 'system_whoami', {});
    assert.is(first.status, 200);
    context.userId = /"userId":"([^"]+)"/.exec(await first.text())?.[1] ?? '';
    assert.ok(context.userId, 'whoami names the user');
    // A read-only call's audit event lands with its commit under way: soon after the result.
    assert.ok(await eventually(async () => (await audited(context.server, context.userId)).length === 1));
    assert.equal(await audited(context.server, context.userId), ['system_whoami']);
  });
  test.after(async ({ server }) => server.stop());

  test('2026-07-28: a read-only tool answers while its audit cannot commit; the event lands once it can', async (context) => {
    const before = (await audited(context.server, context.userId)).length;
    const release = await holdAudit(context);
    try {
      const text = await within(textOf(modernCall(context.server, context.token, 2, 'system_whoami', {})), 3_000);
      assert.match(text, /"userId"/, 'answered while the audit waits');
      assert.is((await audited(context.server, context.userId)).length, before, 'its audit is not yet committed');
    } finally {
      await release();
    }
    assert.ok(await eventually(async () => (await audited(context.server, context.userId)).length === before + 1));
  });

  /** `call` answers only once its audit event is committed, and that event is in the log at once. */
  const answersAfterItsAudit = async (context: Context, call: () => Promise<Response>) => {
    const before = (await audited(context.server, context.userId)).length;
    const release = await holdAudit(context);
    let reply: Promise<string> | undefined;
    try {
      reply = textOf(call());
      // On a session the stream ends with its response: until then the client has at most the priming event.
      assert.is(await within(reply, 700), 'waiting', 'no result before the audit event is committed');
    } finally {
      await release();
    }
    const text = await reply;
    assert.match(text, /"result"/);
    assert.not.match(text, /"isError":true/);
    // In the log the moment the client has the result: no flush, no wait.
    assert.equal((await audited(context.server, context.userId)).slice(before), ['memory_store']);
  };

  test('2026-07-28: a tool that changes something gives no result while its audit cannot commit', async (context) => {
    await answersAfterItsAudit(context, () =>
      modernCall(context.server, context.token, 3, 'memory_store', { title: 'held', content: 'a note' }),
    );
  });

  test('2025-11-25 session: a tool that changes something gives no result while its audit cannot commit', async (context) => {
    const sessionId = await openSession(context.server.base, context.token);
    await answersAfterItsAudit(context, () =>
      callTool(context.server.base, context.token, sessionId, 4, 'memory_store', {
        title: 'held on a session',
        content: 'a note',
      }),
    );
  });

  test('MCP_DURABLE_READS: a read-only tool too gives no result while its audit cannot commit, in both eras', async () => {
    const server = await startTestServer({ MCP_DURABLE_READS: 'true' });
    try {
      const token = (await freshTokens(server)).tokens.access_token;
      const first = await modernCall(server, token, 1, 'system_whoami', {});
      const userId = /"userId":"([^"]+)"/.exec(await first.text())?.[1] ?? '';
      // Durable before the answer: in the log the moment the client has it.
      assert.equal(await audited(server, userId), ['system_whoami']);
      const sessionId = await openSession(server.base, token);
      const release = await holdAudit({ server, token, userId });
      let modern: Promise<string> | undefined;
      let legacy: Promise<string> | undefined;
      try {
        modern = textOf(modernCall(server, token, 2, 'system_whoami', {}));
        legacy = textOf(callTool(server.base, token, sessionId, 3, 'system_whoami', {}));
        assert.is(await within(modern, 700), 'waiting', 'no 2026-07-28 result before the audit is committed');
        assert.is(await within(legacy, 100), 'waiting', 'no session result before the audit is committed');
      } finally {
        await release();
      }
      assert.match(await modern, /"userId"/);
      assert.match(await legacy, /"userId"/);
      assert.equal(await audited(server, userId), ['system_whoami', 'system_whoami', 'system_whoami']);
    } finally {
      await server.stop();
    }
  });

  test.run();
}
