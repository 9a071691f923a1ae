// Cancellation on the 2026-07-28 path over real HTTP with a real OAuth token: a client that closes the
// response stream of a long fs_search_files cancels it (MCP 2026-07-28 basic/utilities/cancellation: on
// Streamable HTTP, closing the stream is the cancellation). The walk stops at its next step and the call
// is audited as cancelled; the same call left alone completes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeJwt } from 'jose';
import { toolAuditStream } from '../../../domain/tools/index.ts';
import { freshTokens } from '../../http/oauth/support.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { eventually } from '../../support/tasks.ts';

type Context = { server: TestServer; root: string; token: string; userId: string };
const test = suite<Context>('mcp modern: closing the response stream cancels the call');
const V2026 = '2026-07-28';
const DIRS = 100;
const FILES = 200;

test.before(async (context) => {
  context.root = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-cancel-'));
  for (let d = 0; d < DIRS; d += 1) {
    fs.mkdirSync(path.join(context.root, `dir-${d}`));
    for (let f = 0; f < FILES; f += 1) fs.writeFileSync(path.join(context.root, `dir-${d}`, `file-${f}.txt`), '');
  }
  context.server = await startTestServer({ FS_ROOTS: context.root });
  context.token = (await freshTokens(context.server, { scope: 'mcp:tools:read' })).tokens.access_token;
  context.userId = decodeJwt(context.token).sub!;
});
test.after(async ({ server, root }) => {
  await server.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

/** Starts a 2026 tools/call of fs_search_files for `pattern` (a marker to find its audit event). */
const search = (server: TestServer, token: string, root: string, pattern: string, signal?: AbortSignal) =>
  fetch(`${server.base}/mcp`, {
    method: 'POST',
    ...(signal ? { signal } : {}),
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': V2026,
      'mcp-method': 'tools/call',
      'mcp-name': 'fs_search_files',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 9,
      method: 'tools/call',
      params: {
        name: 'fs_search_files',
        arguments: { path: root, pattern },
        _meta: {
          'io.modelcontextprotocol/protocolVersion': V2026,
          'io.modelcontextprotocol/clientInfo': { name: 'cancel-e2e', version: '1' },
          'io.modelcontextprotocol/clientCapabilities': {},
          progressToken: pattern,
        },
      },
    }),
  });

/** The audit event of the call whose pattern was `pattern`, once written. */
const auditOf = (server: TestServer, userId: string, pattern: string) =>
  eventually(`the audit event of ${pattern}`, async () => {
    await server.services.groupCommit.flush();
    const events = await server.services.log.readStream(toolAuditStream(userId));
    return events
      .map((event) => event.data as { arguments: { pattern?: string }; outcome: string; error?: string })
      .find((data) => data.arguments.pattern === pattern);
  });

test('aborting the fetch mid-walk stops fs_search_files; it is audited as cancelled', async ({
  server,
  root,
  token,
  userId,
}) => {
  const controller = new AbortController();
  const response = await search(server, token, root, 'cancelled-*.txt', controller.signal);
  assert.is(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  // The walk has begun once its first progress notification arrives; then the client goes away.
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  while (!text.includes('"method":"notifications/progress"')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the answer ended before any progress: ${text}`);
    text += value;
  }
  assert.not.match(text, /"result"/);
  controller.abort();
  const audit = await auditOf(server, userId, 'cancelled-*.txt');
  assert.is(audit.outcome, 'error');
  assert.is(audit.error, 'cancelled: the call was cancelled by the client');
});

test('the same search left alone completes and is audited ok', async ({ server, root, token, userId }) => {
  const response = await search(server, token, root, 'file-1?.txt');
  const text = await response.text();
  assert.match(text, /"resultType":"complete"/);
  assert.match(text, /dir-0\/file-19\.txt/);
  const audit = await auditOf(server, userId, 'file-1?.txt');
  assert.is(audit.outcome, 'ok');
  assert.is(audit.error, undefined);
});

test.run();
