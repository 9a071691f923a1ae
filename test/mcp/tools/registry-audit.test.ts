// A tool call's audit event is in the log before the client has the result, in both eras. On sessions the
// response itself is stored through the same group commit; on the 2026-07-28 path no stored response
// carries it, so the result must wait for the audit's own commit. The test holds the audit stream's row
// lock from another connection: while it is held, the audit cannot commit, so no result may arrive.
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { freshTokens } from '../../http/oauth/support.ts';
import { serverUrl } from '../../support/databases.ts';
import { postRpc } from '../raw.ts';

type Context = { server: TestServer; token: string };
const test = suite<Context>('tools: the audit event is durable before the result (2026-07-28 path)');

test.before(async (context) => {
  context.server = await startTestServer();
  context.token = (await freshTokens(context.server)).tokens.access_token;
});
test.after(async ({ server }) => server.stop());

const whoami = (server: TestServer, token: string, id: number) =>
  postRpc(
    `${server.base}/mcp`,
    {
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: {
        name: 'system_whoami',
        arguments: {},
        _meta: {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientInfo': { name: 'audit-test', version: '1' },
          'io.modelcontextprotocol/clientCapabilities': {},
        },
      },
    },
    {
      authorization: `Bearer ${token}`,
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': 'system_whoami',
    },
  );

const audited = async (server: TestServer, userId: string): Promise<number> =>
  (await server.services.log.readStream(`audit-tools-${userId}`)).filter((event) => event.type === 'ToolCalled').length;

test('no result while the audit event cannot commit; the result and the event once it can', async ({
  server,
  token,
}) => {
  if (!serverUrl() || server.services.db.embedded) {
    console.log('skipped: needs a PostgreSQL server (TEST_DATABASE_URL) for a second connection');
    return;
  }
  // The first call creates the audit stream's row.
  const first = await whoami(server, token, 1);
  assert.is(first.status, 200);
  const userId = /"userId":"([^"]+)"/.exec(await first.text())?.[1];
  assert.ok(userId, 'whoami names the user');
  assert.is(await audited(server, userId), 1);

  const blocker = new pg.Client({ connectionString: server.env.DATABASE_URL });
  await blocker.connect();
  try {
    await blocker.query('BEGIN');
    const locked = await blocker.query('SELECT 1 FROM event_streams WHERE stream_id = $1 FOR UPDATE', [
      `audit-tools-${userId}`,
    ]);
    assert.is(locked.rowCount, 1);
    let answered = false;
    const second = whoami(server, token, 2).then(async (response) => {
      answered = true;
      return { status: response.status, text: await response.text() };
    });
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.is(answered, false, 'no result before the audit event is committed');
    await blocker.query('COMMIT');
    const result = await second;
    assert.is(result.status, 200);
    assert.match(result.text, /"userId"/);
    // In the log the moment the client has the result: no flush, no wait.
    assert.is(await audited(server, userId), 2);
  } finally {
    await blocker.query('ROLLBACK').catch(() => undefined);
    await blocker.end();
  }
});

test.run();
