// The tasks extension over real HTTP on two servers sharing one database, with a real OAuth token: an
// fs_directory_tree call on A becomes a task (CreateTaskResult), B answers tasks/get with the inlined
// result, tasks/cancel acknowledges; a client that did not declare the extension gets a synchronous result
// and -32021 on tasks/get; an unknown task is -32602; another user's task is unknown. Needs TEST_DATABASE_URL.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SYSTEM } from '../../../domain/shared.ts';
import { freshTokens } from '../../http/oauth/support.ts';
import { createServerDatabase, serverUrl } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { skipSuite } from '../../support/skip.ts';
import { eventually } from '../../support/tasks.ts';
import { postRpc } from '../raw.ts';

type Context = { a: TestServer; b: TestServer; root: string; token: string; drop: () => Promise<void> };
const test = suite<Context>('mcp modern: tasks over HTTP on two instances');
const CASES = 4;
const V2026 = '2026-07-28';
const TASKS = { extensions: { 'io.modelcontextprotocol/tasks': {} } };

type Answer = { status: number; body: { result?: Record<string, unknown>; error?: Record<string, unknown> } };

/** One 2026-07-28 request (per-request envelope, routing headers), answered as JSON. */
const rpc = async (
  server: TestServer,
  token: string,
  method: string,
  params: Record<string, unknown>,
  capabilities: Record<string, unknown> = TASKS,
): Promise<Answer> => {
  const name =
    typeof params.name === 'string' ? params.name : typeof params.taskId === 'string' ? params.taskId : undefined;
  const response = await postRpc(
    `${server.url}/mcp`,
    {
      jsonrpc: '2.0',
      id: 7,
      method,
      params: {
        ...params,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': V2026,
          'io.modelcontextprotocol/clientInfo': { name: 'tasks-e2e', version: '1' },
          'io.modelcontextprotocol/clientCapabilities': capabilities,
        },
      },
    },
    {
      authorization: `Bearer ${token}`,
      'mcp-protocol-version': V2026,
      'mcp-method': method,
      ...(name ? { 'mcp-name': name } : {}),
    },
  );
  const text = await response.text();
  // An SSE answer carries the JSON-RPC response in its last data line.
  const json = text.startsWith('{')
    ? text
    : (
        text
          .split('\n')
          .filter((line) => line.startsWith('data: '))
          .pop() ?? ''
      ).slice(6);
  return { status: response.status, body: JSON.parse(json) as Answer['body'] };
};

if (!serverUrl()) {
  skipSuite('mcp modern: tasks over HTTP on two instances', 'TEST_DATABASE_URL not set', CASES);
} else {
  test.before(async (context) => {
    const database = await createServerDatabase();
    context.drop = database.drop;
    context.root = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-tasks-fs-'));
    for (let d = 0; d < 20; d += 1) {
      fs.mkdirSync(path.join(context.root, `dir-${d}`));
      for (let f = 0; f < 20; f += 1) fs.writeFileSync(path.join(context.root, `dir-${d}`, `file-${f}.md`), 'x');
    }
    const env = { FS_ROOTS: context.root };
    context.a = await startTestServer(env, { database });
    context.b = await startTestServer({ ...env, PUBLIC_URL: context.a.base }, { database });
    context.token = (await freshTokens(context.a, { scope: 'mcp:tools:read mcp:tools:write' })).tokens.access_token;
  });
  test.after(async ({ a, b, root, drop }) => {
    await b.stop();
    await a.stop();
    await drop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test('a directory tree started on A is a task; B reads its inlined result; cancel acknowledges', async ({
    a,
    b,
    root,
    token,
  }) => {
    const created = await rpc(a, token, 'tools/call', { name: 'fs_directory_tree', arguments: { path: root } });
    assert.is(created.status, 200);
    const task = created.body.result!;
    assert.is(task.resultType, 'task');
    assert.is(task.status, 'working');
    assert.type(task.taskId, 'string');
    // SEP-2663 CreateTaskResult: flat (no `task` wrapper), no result or error before tasks/get.
    for (const key of ['createdAt', 'lastUpdatedAt', 'pollIntervalMs', 'ttlMs']) assert.ok(key in task, key);
    for (const key of ['task', 'result', 'error', 'requestState', 'ttl', 'pollInterval'])
      assert.not.ok(key in task, key);
    const taskId = task.taskId as string;
    const done = await eventually('completed, read on B', async () => {
      const got = await rpc(b, token, 'tasks/get', { taskId });
      return got.body.result?.status === 'completed' ? got.body.result : undefined;
    });
    assert.is(done.resultType, 'complete');
    assert.is(done.taskId, taskId);
    const result = done.result as { content: Array<{ text: string }>; structuredContent: unknown };
    assert.ok(result.content[0]!.text.includes('file-19.md'));
    assert.not.ok('error' in done);

    const cancelled = await rpc(b, token, 'tasks/cancel', { taskId });
    // An empty acknowledgement (the SDK adds its serverInfo `_meta` to every result).
    const { _meta, ...ack } = cancelled.body.result!;
    assert.equal(ack, { resultType: 'complete' });
    assert.is((await rpc(a, token, 'tasks/get', { taskId })).body.result!.status, 'completed');
  });

  test('without the extension: a synchronous result, and -32021 for tasks/get and tasks/cancel', async ({
    a,
    root,
    token,
  }) => {
    const sync = await rpc(a, token, 'tools/call', { name: 'fs_directory_tree', arguments: { path: root } }, {});
    assert.is(sync.body.result!.resultType, 'complete');
    assert.not.ok('taskId' in sync.body.result!);
    assert.ok(Array.isArray(sync.body.result!.content));
    for (const method of ['tasks/get', 'tasks/cancel']) {
      const refused = await rpc(a, token, method, { taskId: 'any' }, {});
      assert.is(refused.body.error!.code, -32021, method);
      assert.equal((refused.body.error!.data as { requiredCapabilities: unknown }).requiredCapabilities, TASKS, method);
    }
  });

  test("an unknown task, or another user's, is -32602 on every instance", async ({ a, b, root, token }) => {
    const unknown = await rpc(b, token, 'tasks/get', { taskId: 'no-such-task' });
    assert.is(unknown.body.error!.code, -32602);
    assert.is(unknown.body.error!.message, 'Unknown task: no-such-task');
    const created = await rpc(a, token, 'tools/call', {
      name: 'fs_search_files',
      arguments: { path: root, pattern: '*.md' },
    });
    const taskId = created.body.result!.taskId as string;
    // Another client of the same user: a separate registration and grant.
    const other = (await freshTokens(a, { scope: 'mcp:tools:read' })).tokens.access_token;
    for (const method of ['tasks/get', 'tasks/cancel']) {
      const refused = await rpc(b, other, method, { taskId });
      assert.is(refused.body.error!.code, -32602, method);
      assert.is(refused.body.error!.message, `Unknown task: ${taskId}`, method);
    }
    assert.ok((await rpc(b, token, 'tasks/get', { taskId })).body.result!.taskId === taskId);
    // SEP-2663 removed these two: the result is inlined on tasks/get.
    for (const method of ['tasks/result', 'tasks/list']) {
      const removed = await rpc(b, token, method, method === 'tasks/list' ? {} : { taskId });
      assert.is(removed.body.error!.code, -32601, method);
    }
  });

  test("another user's token cannot poll, cancel or update a task: -32602 Unknown task, nothing changes", async ({
    a,
    b,
    root,
    token,
  }) => {
    await a.services.users.create({ email: 'tasks-other@example.test', password: 'other-password-123' }, SYSTEM);
    const other = (
      await freshTokens(a, {
        scope: 'mcp:tools:read mcp:tools:write',
        user: { email: 'tasks-other@example.test', password: 'other-password-123' },
      })
    ).tokens.access_token;
    const created = await rpc(a, token, 'tools/call', {
      name: 'fs_search_files',
      arguments: { path: root, pattern: 'file-3.md' },
    });
    const taskId = created.body.result!.taskId as string;
    for (const [method, params] of [
      ['tasks/get', { taskId }],
      ['tasks/cancel', { taskId }],
      ['tasks/update', { taskId, inputResponses: {} }],
    ] as const) {
      for (const server of [a, b]) {
        const refused = await rpc(server, other, method, params);
        assert.is(refused.status, 200, method);
        // The same answer as for a made-up id: the task's existence is not disclosed (SEP-2663).
        assert.equal(refused.body.error, { code: -32602, message: `Unknown task: ${taskId}` }, method);
      }
    }
    // The owner's task was not cancelled by the other user's attempt: it completes.
    const done = await eventually('completed for its owner', async () => {
      const got = await rpc(b, token, 'tasks/get', { taskId });
      return got.body.result?.status === 'working' ? undefined : got.body.result;
    });
    assert.is(done.status, 'completed');
    assert.ok((done.result as { content: Array<{ text: string }> }).content[0]!.text.includes('file-3.md'));
    // Its owner updating it: known, but it never waits for input.
    const update = await rpc(a, token, 'tasks/update', { taskId, inputResponses: {} });
    assert.equal(update.body.error, { code: -32602, message: `Task ${taskId} is completed, not waiting for input` });
  });

  test.run();
}
