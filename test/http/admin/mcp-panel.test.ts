// The admin panel's view of MCP over real HTTP: a call refused for scope is audited and counted, an
// admin ends an MCP session and its client is refused, "live" follows activity, and the audit page
// follows one session end to end.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MCP_READ, MCP_WRITE } from '../../../domain/scopes.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { AdminClient } from './client.ts';
import { postRpc } from '../../mcp/raw.ts';

type Context = { server: TestServer; admin: AdminClient };
const test = suite<Context>('admin: MCP sessions, denied calls, session audit');

test.before(async (context) => {
  context.server = await startTestServer();
  context.admin = new AdminClient(context.server.base);
  assert.is((await context.admin.login(context.server.adminEmail, context.server.adminPassword)).status, 303);
});
test.after(async ({ server }) => server.stop());

/** A machine client bound to a service user, and a token for /mcp with the given scopes. */
export const machineToken = async (server: TestServer, name: string, scope: string) => {
  const { client } = await server.services.oauth.createMachineClient(
    { name, userEmail: `${name}@example.com` },
    { type: 'system', id: 'test' },
  );
  const token = (
    await server.services.oauth.tokens.clientCredentials(client, { scope, resource: `${server.base}/mcp` })
  ).access_token;
  const user = await server.services.users.byEmail(`${name}@example.com`);
  return { token, clientId: client.clientId, userId: user!.id };
};

/** One raw JSON-RPC POST to /mcp; the SSE answer's data lines are returned as parsed messages. */
export const mcpPost = async (server: TestServer, token: string, body: unknown, sessionId?: string) => {
  const response = await postRpc(`${server.base}/mcp`, body, {
    authorization: `Bearer ${token}`,
    ...(sessionId ? { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text };
};

export const openSession = async (server: TestServer, token: string, name = 'panel-test'): Promise<string> => {
  const init = await mcpPost(server, token, {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name, version: '1.2' } },
  });
  assert.is(init.status, 200, init.text);
  const sessionId = init.headers.get('mcp-session-id');
  assert.ok(sessionId);
  const ready = await mcpPost(server, token, { jsonrpc: '2.0', method: 'notifications/initialized' }, sessionId);
  assert.is(ready.status, 202);
  return sessionId;
};

// Through the log, which opens the sealed personal fields (tool arguments, the actor's email).
const toolEvents = async (server: TestServer, userId: string) =>
  (await server.services.log.readStream(`audit-tools-${userId}`))
    .filter((event) => event.type === 'ToolCalled')
    .map((event) => event.data as Record<string, unknown>);

/**
 * Until the read models have every event appended so far. (The PostgreSQL log's head stops below the
 * oldest transaction open on the server, which other databases' work can hold back: poll the rows too.)
 */
const settle = async (server: TestServer, check?: () => Promise<boolean>) => {
  await server.services.projections.waitFor(await server.services.log.headPosition());
  for (let i = 0; check && i < 100 && !(await check()); i += 1) await new Promise((r) => setTimeout(r, 50));
};
const projected = (server: TestServer, sql: string, params: unknown[]) => async () =>
  ((await server.services.db.query(sql, params)).rowCount ?? 0) > 0;

test('a read-only token calling a write tool: 403 insufficient_scope, one denied ToolCalled, Tools shows Denied 1', async ({
  server,
  admin,
}) => {
  const reader = await machineToken(server, 'denied-reader', MCP_READ);
  const sessionId = await openSession(server, reader.token);
  const refused = await mcpPost(
    server,
    reader.token,
    {
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'fs_write_file', arguments: { path: 'x.txt', content: 'secret body' } },
    },
    sessionId,
  );
  assert.is(refused.status, 403);
  // /mcp answers every refusal in JSON-RPC, the stable code in error.data.
  assert.is(refused.headers.get('content-type'), 'application/json; charset=utf-8');
  const answer = JSON.parse(refused.text) as { error: { data: { requestId: unknown } } };
  assert.equal(answer, {
    jsonrpc: '2.0',
    error: {
      code: -32000,
      message: `this call needs the scope ${MCP_WRITE}`,
      data: { code: 'insufficient_scope', requestId: answer.error.data.requestId },
    },
    id: null,
  });
  assert.type(answer.error.data.requestId, 'string');
  assert.match(refused.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
  const events = await toolEvents(server, reader.userId);
  assert.is(events.length, 1, JSON.stringify(events));
  const event = events[0]!;
  assert.is(event.outcome, 'denied');
  assert.is(event.tool, 'fs_write_file');
  assert.is(event.sessionId, sessionId);
  assert.is(event.userId, reader.userId);
  assert.is(event.clientId, reader.clientId);
  assert.is(event.error, `insufficient_scope: the tool fs_write_file needs the scope ${MCP_WRITE}`);
  assert.equal(event.arguments, { path: 'x.txt', content: '[11 chars]' }, 'arguments summarized, content not kept');
  await settle(server, projected(server, `SELECT 1 FROM tool_calls WHERE session_id = $1`, [sessionId]));
  const tools = await admin.get('/admin/tools');
  const row = /<tr[^>]*data-tool="fs_write_file"[^>]*>([\s\S]*?)<\/tr>/.exec(tools.text)?.[1] ?? '';
  assert.match(row, /<td class="text-end" data-denied="fs_write_file">1<\/td>/, row);
});

const closedEvents = async (server: TestServer, sessionId: string) =>
  (await server.services.log.readStream(`mcp-session-${sessionId}`))
    .filter((event) => event.type === 'McpSessionClosed')
    .map((event) => ({
      data: event.data as Record<string, unknown>,
      metadata: event.metadata as Record<string, unknown>,
    }));

const ping = (server: TestServer, token: string, sessionId: string, base = server.base) =>
  postRpc(
    `${base}/mcp`,
    { jsonrpc: '2.0', id: 9, method: 'ping' },
    { authorization: `Bearer ${token}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' },
  );

test('End on the Sessions page: CSRF required; McpSessionClosed names the admin; the client gets 404 on every instance', async ({
  server,
  admin,
}) => {
  const user = await machineToken(server, 'ended-client', `${MCP_READ} ${MCP_WRITE}`);
  const sessionId = await openSession(server, user.token, 'to-be-ended');
  // A second instance on the same database holds the session too (no sticky sessions).
  const other = server.env.DATABASE_URL
    ? await startTestServer(
        { DATABASE_URL: server.env.DATABASE_URL, PUBLIC_URL: server.base },
        { database: { url: server.env.DATABASE_URL, drop: async () => undefined } },
      )
    : undefined;
  try {
    const otherBase = other ? `http://127.0.0.1:${other.env.PORT}` : undefined;
    if (otherBase) assert.is((await ping(server, user.token, sessionId, otherBase)).status, 200);
    await settle(server, projected(server, 'SELECT 1 FROM mcp_sessions WHERE id = $1', [sessionId]));
    const page = await admin.get('/admin/sessions');
    assert.match(
      page.text,
      new RegExp(`data-session="${sessionId}" data-state="live"`),
      page.text.slice(page.text.indexOf('mcp-sessions-table'), page.text.indexOf('mcp-sessions-table') + 3000),
    );
    assert.ok(page.text.includes(`action="/admin/sessions/mcp/${sessionId}/end"`), 'the page offers End');

    const forged = await admin.post(`/admin/sessions/mcp/${sessionId}/end`, { csrf: 'forged' });
    assert.is(forged.status, 403);
    assert.equal(await closedEvents(server, sessionId), [], 'a forged POST ends nothing');
    assert.is((await ping(server, user.token, sessionId)).status, 200);

    const csrf = await admin.csrf('/admin/sessions');
    const ended = await admin.post(`/admin/sessions/mcp/${sessionId}/end`, { csrf });
    assert.is(ended.status, 303);
    assert.is(ended.location, '/admin/sessions?ok=mcp_session_ended');
    const events = await closedEvents(server, sessionId);
    assert.is(events.length, 1);
    const adminUser = await server.services.users.byEmail(server.adminEmail);
    assert.is(events[0]!.data.reason, 'ended_by_admin');
    assert.equal(events[0]!.data.endedBy, { id: adminUser!.id, email: server.adminEmail });
    assert.equal(events[0]!.metadata.actor, { type: 'user', id: adminUser!.id, email: server.adminEmail });

    const refused = await ping(server, user.token, sessionId);
    assert.is(refused.status, 404);
    assert.equal(await refused.json(), {
      jsonrpc: '2.0',
      error: { code: -32001, message: 'Session not found' },
      id: null,
    });
    if (otherBase) {
      // The other instance learns of the close through its log feed.
      let status = 0;
      for (let i = 0; i < 40 && status !== 404; i += 1) {
        status = (await ping(server, user.token, sessionId, otherBase)).status;
        if (status !== 404) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.is(status, 404, 'refused on the other instance too');
    }
    // Ending it again writes nothing more.
    const again = await admin.post(`/admin/sessions/mcp/${sessionId}/end`, { csrf });
    assert.is(again.location, '/admin/sessions?ok=mcp_session_already_closed');
    assert.is((await closedEvents(server, sessionId)).length, 1);
    await settle(
      server,
      projected(server, `SELECT 1 FROM mcp_sessions WHERE id = $1 AND status = 'closed'`, [sessionId]),
    );
    const after = await admin.get('/admin/sessions');
    assert.match(after.text, new RegExp(`data-session="${sessionId}" data-state="ended"`));
    assert.not.ok(after.text.includes(`action="/admin/sessions/mcp/${sessionId}/end"`), 'no End once closed');
  } finally {
    await other?.stop();
  }
});

test('a session quiet for longer than the live window is idle, on the Sessions page and the dashboard counter', async ({
  server,
  admin,
}) => {
  const user = await machineToken(server, 'quiet-client', MCP_READ);
  const quiet = await openSession(server, user.token, 'gone-quiet');
  const busy = await openSession(server, user.token, 'still-busy');
  // The quiet client's last message (and its opening) were 10 minutes ago; it never closed the session.
  await server.services.db.query(`UPDATE events SET created_at = now() - interval '10 minutes' WHERE stream_id = $1`, [
    `mcp-messages-${quiet}`,
  ]);
  await settle(
    server,
    projected(server, 'SELECT 1 FROM mcp_sessions WHERE id = ANY($1) HAVING count(*) = 2', [[quiet, busy]]),
  );
  await server.services.db.query(`UPDATE mcp_sessions SET opened_at = now() - interval '10 minutes' WHERE id = $1`, [
    quiet,
  ]);
  const page = await admin.get('/admin/sessions');
  const table = page.text.slice(page.text.indexOf('mcp-sessions-table'));
  assert.match(page.text, new RegExp(`data-session="${quiet}" data-state="idle"`), table.slice(0, 6000));
  assert.match(page.text, new RegExp(`data-session="${busy}" data-state="live"`), busy + table.slice(0, 8000));
  const live = [...page.text.matchAll(/data-state="live"/g)].length;
  const dashboard = await admin.get('/admin');
  assert.match(dashboard.text, new RegExp(`data-count="live-mcp-sessions">${live}<`));
  const open = (
    await server.services.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM mcp_sessions WHERE status = 'open' AND expires_at > now()`,
    )
  ).rows[0]!.n;
  assert.is(live, open - 1, 'every open session but the quiet one is live');
});

test('the audit page follows one MCP session: open, its tool calls (denied too) with one-line summaries, close', async ({
  server,
  admin,
}) => {
  const user = await machineToken(server, 'followed', MCP_READ);
  const sessionId = await openSession(server, user.token, 'followed-client');
  const elsewhere = await openSession(server, user.token, 'other-session');
  // A read's records land with the commit under way, and one commit groups its events by stream: each
  // call's records are in the log before the next call, as with a person at the keyboard.
  const call = async (id: number, name: string, session: string) => {
    const response = await mcpPost(
      server,
      user.token,
      { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } },
      session,
    );
    await server.services.groupCommit.flush();
    return response;
  };
  assert.is((await call(2, 'system_whoami', sessionId)).status, 200);
  assert.is((await call(3, 'fs_write_file', sessionId)).status, 403);
  assert.is((await call(4, 'system_whoami', elsewhere)).status, 200);
  assert.is(
    (await mcpPost(server, user.token, { jsonrpc: '2.0', id: 5, method: 'tools/list' }, sessionId)).status,
    200,
  );
  // The reads' audit events and stored answers may still be in the commit under way.
  await server.services.groupCommit.flush();
  const page = await admin.get(`/admin/audit?session=${sessionId}`);
  assert.is(page.status, 200);
  const rows = [...page.text.matchAll(/<tr data-type="([^"]+)"(?: data-summary="([^"]*)")?>/g)].map((m) =>
    [m[1], (m[2] ?? '').replaceAll('&gt;', '>').replaceAll('&quot;', '"')].join(': '),
  );
  assert.equal(rows.reverse(), [
    'McpSessionOpened: session opened by followed-client 1.2 (2025-06-18)',
    'McpEventEmitted: initialize → ok',
    'ToolCalled: system_whoami → ok',
    'McpEventEmitted: tools/call system_whoami → ok',
    `ToolCalled: fs_write_file → denied (insufficient_scope: the tool fs_write_file needs the scope ${MCP_WRITE})`,
    'McpEventEmitted: tools/list → ok',
  ]);
  assert.ok(page.text.includes('>followed@example.com<') || page.text.includes('followed@example.com'), 'user named');
  assert.match(page.text, /<a href="\/admin\/clients\/[^"]+">followed<\/a>/, 'client named and linked');
});

test('the memory page shows headings, emails and tag lists, not column names, user ids, note ids or JSON', async ({
  server,
  admin,
}) => {
  const user = await machineToken(server, 'memory-writer', `${MCP_READ} ${MCP_WRITE}`);
  const sessionId = await openSession(server, user.token, 'memory-client');
  const stored = await mcpPost(
    server,
    user.token,
    {
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: {
        name: 'memory_store',
        arguments: { content: 'the quokka note', title: 'Quokkas', tags: ['island', 'fauna'] },
      },
    },
    sessionId,
  );
  assert.is(stored.status, 200);
  const noteId = /"id\\?":\\?"([0-9a-f-]{36})/.exec(stored.text)?.[1];
  await settle(server, projected(server, 'SELECT 1 FROM memory_notes WHERE user_id = $1', [user.userId]));
  const page = await admin.get('/admin/memory?user=memory-writer%40example.com');
  const notes = page.text.slice(page.text.indexOf('id="memory_notes"'));
  assert.match(notes, /<th>User<\/th>/);
  assert.match(notes, /<th>Tags<\/th>/);
  assert.match(notes, /<th>Updated \(UTC\)<\/th>/);
  assert.not.match(notes, /<th>user_id<\/th>|<th>id<\/th>/);
  assert.match(notes, />memory-writer@example\.com</);
  assert.match(notes, />(island · fauna|fauna · island)</);
  assert.not.ok(notes.includes(user.userId), 'no user id');
  if (noteId) assert.not.ok(notes.includes(noteId), 'no note id');
  assert.not.match(notes, /\[&quot;island/);
});

test('End of an unknown or malformed session id: 404, nothing written', async ({ server, admin }) => {
  const csrf = await admin.csrf('/admin/sessions');
  const before = await server.services.log.headPosition();
  assert.is((await admin.post('/admin/sessions/mcp/00000000-0000-4000-8000-000000000000/end', { csrf })).status, 404);
  assert.is((await admin.post('/admin/sessions/mcp/not-a-session/end', { csrf })).status, 404);
  assert.equal(await server.services.log.headPosition(), before);
});

test.run();
