// The tools through the real /mcp endpoint over HTTP with the MCP SDK client (bearer tokens from the
// /mcp tests' stand-in issuer, so this suite does not depend on the login flow).
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { MCP_READ, MCP_WRITE } from '../../../domain/scopes.ts';
import type { StandInTokens } from '../support.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { serveWithStandInTokens } from './support.ts';

type Context = { server: TestServer; tokens: StandInTokens; resource: string };
const test = suite<Context>('tools: over HTTP through /mcp');

test.before(async (context) => {
  context.server = await startTestServer();
  context.tokens = await serveWithStandInTokens(context.server);
  context.resource = `${context.server.base}/mcp`;
});
test.after(async ({ server }) => server.stop());

const open = async (context: Context, sub: string, scopes = [MCP_READ, MCP_WRITE]) => {
  const { token } = await context.tokens.issue({ sub, aud: context.resource, scopes });
  const client = new Client({ name: 'tools-e2e', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(context.resource), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  return {
    client,
    call: async (name: string, args: Record<string, unknown> = {}) =>
      (await client.callTool({ name, arguments: args })) as CallToolResult,
  };
};
const text = (result: CallToolResult) => (result.content[0]?.type === 'text' ? result.content[0].text : '');

test('tools/list over HTTP lists the built-in tools with 2020-12 schemas', async (context) => {
  const { client } = await open(context, 'http-user');
  const { tools } = await client.listTools();
  for (const prefix of ['fs_', 'memory_', 'system_'])
    assert.ok(
      tools.some((t) => t.name.startsWith(prefix)),
      prefix,
    );
  assert.ok(tools.every((t) => t.inputSchema.$schema === 'https://json-schema.org/draft/2020-12/schema'));
  await client.close();
});

test('filesystem over HTTP: write, read back, escapes refused', async (context) => {
  const { client, call } = await open(context, 'http-user');
  const root = path.join(context.server.dataDir, 'files');
  assert.not.ok((await call('fs_write_file', { path: 'over-http.txt', content: 'via /mcp' })).isError);
  assert.is((await call('fs_read_text_file', { path: 'over-http.txt' })).structuredContent?.content, 'via /mcp');
  const escape = await call('fs_write_file', { path: '../escaped.txt', content: 'x' });
  assert.ok(escape.isError);
  assert.match(text(escape), /^outside_roots:/);
  assert.not.ok(fs.existsSync(path.join(context.server.dataDir, 'escaped.txt')));
  assert.ok(fs.existsSync(path.join(root, 'over-http.txt')));
  await client.close();
});

test('memory over HTTP: searchable on return, isolated per token subject', async (context) => {
  const a = await open(context, 'http-alice');
  const b = await open(context, 'http-bob');
  assert.not.ok((await a.call('memory_store', { content: 'quokka sightings on the island' })).isError);
  const mine = (await a.call('memory_search', { query: 'quokka' })).structuredContent as { results: unknown[] };
  const theirs = (await b.call('memory_search', { query: 'quokka' })).structuredContent as { results: unknown[] };
  assert.is(mine.results.length, 1);
  assert.is(theirs.results.length, 0);
  const me = (await b.call('system_whoami')).structuredContent as { userId: string; scopes: string[] };
  assert.is(me.userId, 'http-bob');
  await a.client.close();
  await b.client.close();
});

test('a read-only token cannot run write tools; nothing is written', async (context) => {
  const reader = await open(context, 'http-reader', [MCP_READ]);
  let refused = '';
  try {
    const result = await reader.call('fs_write_file', { path: 'by-reader.txt', content: 'x' });
    refused = result.isError ? text(result) : 'ran';
  } catch (error) {
    refused = String(error);
  }
  // /mcp asks tools.requiredScope() and answers 403 insufficient_scope before dispatch (RFC 6750 §3.1).
  assert.match(
    refused,
    /"error":\{"code":-32000,"message":"this call needs the scope mcp:tools:write","data":\{"code":"insufficient_scope"/,
  );
  assert.not.ok(fs.existsSync(path.join(context.server.dataDir, 'files', 'by-reader.txt')));
  await reader.client.close();
});

test.run();
