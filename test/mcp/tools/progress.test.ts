// Progress from the real filesystem walks (MCP basic/utilities/progress), with a real OAuth token, in both
// eras: the v2 client at 2026-07-28 (stateless path) and the v1 client at 2025-11-25 (a session) get
// notifications/progress for the progressToken they sent; a request without a token gets none; a task's
// progress goes to its stream, where tasks/get reads it as the statusMessage.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { throttled } from '../../../mcp/tools/progress.ts';
import { freshTokens } from '../../http/oauth/support.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { eventually } from '../../support/tasks.ts';
import { postRpc } from '../raw.ts';

type Context = { server: TestServer; root: string; token: string };
const test = suite<Context>('tools: progress of long filesystem calls, both eras');
const V2026 = '2026-07-28';
const DIRS = 40;
const FILES = 100;
/** Every name the walk reads: the directories and their files. */
const NAMES = DIRS * (FILES + 1);

type Progress = { progress: number; total?: number | undefined; message?: string | undefined };

test.before(async (context) => {
  context.root = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-progress-'));
  for (let d = 0; d < DIRS; d += 1) {
    fs.mkdirSync(path.join(context.root, `dir-${d}`));
    for (let f = 0; f < FILES; f += 1) fs.writeFileSync(path.join(context.root, `dir-${d}`, `file-${f}.txt`), '');
  }
  context.server = await startTestServer({ FS_ROOTS: context.root });
  context.token = (await freshTokens(context.server, { scope: 'mcp:tools:read' })).tokens.access_token;
});
test.after(async ({ server, root }) => {
  await server.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

/** What a walk's notifications must look like: at least one, growing, within the walk, its message. */
const assertWalkProgress = (reports: Progress[]) => {
  assert.ok(reports.length >= 1, 'at least one progress notification');
  for (const [i, report] of reports.entries()) {
    if (i > 0) assert.ok(report.progress > reports[i - 1]!.progress, `progress grows: ${JSON.stringify(reports)}`);
    assert.ok(report.progress >= 1 && report.progress <= NAMES, `within the walk: ${report.progress}`);
    assert.is(report.total, undefined);
    assert.match(report.message ?? '', /^\d+ names read, \d+ directories to go$/);
  }
};

test('the v2 client at 2026-07-28 gets progress for fs_directory_tree and fs_search_files', async ({
  server,
  root,
  token,
}) => {
  const client = new Client({ name: 'progress-v2', version: '1' }, { versionNegotiation: { mode: { pin: V2026 } } });
  const transport = new StreamableHTTPClientTransport(new URL(`${server.base}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  assert.is(client.getProtocolEra(), 'modern');
  try {
    const tree: Progress[] = [];
    const result = await client.callTool(
      { name: 'fs_directory_tree', arguments: { path: root } },
      { onprogress: (report) => tree.push(report) },
    );
    assert.is(result.isError, undefined);
    assert.is((result.structuredContent as { entries: unknown[] }).entries.length, NAMES);
    assertWalkProgress(tree);
    const search: Progress[] = [];
    const found = await client.callTool(
      { name: 'fs_search_files', arguments: { path: root, pattern: 'file-7.txt' } },
      { onprogress: (report) => search.push(report) },
    );
    assert.is((found.structuredContent as { matches: unknown[] }).matches.length, DIRS);
    assertWalkProgress(search);
  } finally {
    await client.close();
  }
});

test('the v1 client at 2025-11-25 gets progress on its session', async ({ server, root, token }) => {
  const client = new ClientV1({ name: 'progress-v1', version: '1' });
  const transport = new TransportV1(new URL(`${server.base}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  assert.ok(transport.sessionId);
  try {
    const reports: Progress[] = [];
    const result = await client.callTool({ name: 'fs_directory_tree', arguments: { path: root } }, undefined, {
      onprogress: (report) => reports.push(report),
    });
    assert.is(result.isError, undefined);
    assertWalkProgress(reports);
  } finally {
    await transport.terminateSession();
    await client.close();
  }
});

/** A raw 2026-07-28 tools/call; returns the JSON-RPC messages of its answer (JSON, or SSE data lines). */
const rawCall = async (
  server: TestServer,
  token: string,
  args: unknown,
  meta: Record<string, unknown>,
  tool = 'fs_directory_tree',
) => {
  const response = await postRpc(
    `${server.base}/mcp`,
    {
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: {
        name: tool,
        arguments: args,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': V2026,
          'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
          'io.modelcontextprotocol/clientCapabilities': {},
          ...meta,
        },
      },
    },
    { authorization: `Bearer ${token}`, 'mcp-protocol-version': V2026, 'mcp-method': 'tools/call', 'mcp-name': tool },
  );
  const text = await response.text();
  const messages = text.startsWith('{')
    ? [JSON.parse(text) as Record<string, unknown>]
    : text
        .split('\n')
        .filter((line) => line.startsWith('data: ') && line.length > 6)
        .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>);
  return { status: response.status, messages };
};

test('progress names the request token exactly, and a request without one gets none', async ({
  server,
  root,
  token,
}) => {
  const withToken = await rawCall(server, token, { path: root }, { progressToken: 'walk-42' });
  assert.is(withToken.status, 200);
  const notes = withToken.messages.filter((message) => message.method === 'notifications/progress');
  assert.ok(notes.length >= 1);
  for (const note of notes) assert.is((note.params as { progressToken: unknown }).progressToken, 'walk-42');
  assert.ok('result' in withToken.messages.at(-1)!);
  const without = await rawCall(server, token, { path: root }, {});
  assert.is(without.status, 200);
  assert.equal(
    without.messages.map((message) => ('result' in message ? 'result' : message.method)),
    ['result'],
  );
});

test('a task of fs_search_files keeps its progress in its stream (TaskProgressed)', async ({ server, root, token }) => {
  // A search: its result (the matches) stays under the bound of kept task results, its walk is long.
  const created = await rawCall(
    server,
    token,
    { path: root, pattern: 'file-7.txt' },
    {
      'io.modelcontextprotocol/clientCapabilities': { extensions: { 'io.modelcontextprotocol/tasks': {} } },
    },
    'fs_search_files',
  );
  const task = created.messages.at(-1)!.result as { taskId: string; resultType: string };
  assert.is(task.resultType, 'task');
  const progressed = await eventually('TaskProgressed in the task stream', async () => {
    const events = await server.services.log.readStream(`mcp-task-${task.taskId}`);
    return events.find((event) => event.type === 'TaskProgressed')?.data as Progress | undefined;
  });
  // The first report, after the top directory (a task keeps at most one a second).
  assert.is(progressed.progress, DIRS);
  assert.is(progressed.message, `${DIRS} names read, ${DIRS} directories to go`);
  const types = await eventually('the task completed', async () => {
    const events = await server.services.log.readStream(`mcp-task-${task.taskId}`);
    return events.some((event) => event.type === 'TaskCompleted') ? events.map((event) => event.type) : undefined;
  });
  assert.ok(types.indexOf('TaskProgressed') < types.indexOf('TaskCompleted'));
});

test('the throttle sends the first report at once, then only grown values at most every interval', async () => {
  const sent: number[] = [];
  const report = throttled(async ({ progress }) => void sent.push(progress), 50);
  report({ progress: 1 });
  report({ progress: 2 });
  await new Promise((resolve) => setTimeout(resolve, 60));
  report({ progress: 2 });
  report({ progress: 3 });
  await new Promise((resolve) => setTimeout(resolve, 60));
  // Not grown since the last one sent: dropped even after the interval.
  report({ progress: 2 });
  report({ progress: 4 });
  assert.equal(sent, [1, 2, 4]);
});

test.run();
