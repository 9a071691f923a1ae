import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { DomainError } from '../../../domain/shared.ts';
import { MCP_READ, MCP_WRITE } from '../../../domain/scopes.ts';
import { summarizeArguments } from '../../../mcp/tools/audit.ts';
import { toolsCommands } from '../../../bin/tools-commands.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { caller, connect, errorText, structured, type Connected } from './support.ts';
import { toolCallsProjection } from '../../../projections/tools/settings.ts';

type Context = { server: TestServer; mcp: Connected };
const test = suite<Context>('tools: registry, schemas, scopes, enable/disable, audit');
const ADMIN = { type: 'user' as const, id: 'admin-test' };

test.before(async (context) => {
  context.server = await startTestServer();
  context.mcp = await connect(context.server.services.tools, caller('registry-user'));
});
test.after(async ({ server, mcp }) => {
  await mcp.close();
  await server.stop();
});

// These calls go through an in-memory transport, which stores no responses: the audit events queued
// by the calls are committed by the next flush (over HTTP they share the response's commit).
const auditEvents = async (server: TestServer, userId: string) => {
  await server.services.groupCommit.flush();
  return (await server.services.log.readStream(`audit-tools-${userId}`)).map((e) => e.data as Record<string, unknown>);
};

test('tools/list: every input and output schema is valid JSON Schema 2020-12 and compiles', async ({ mcp }) => {
  const { tools } = await mcp.client.listTools();
  assert.ok(tools.length >= 30);
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  for (const tool of tools) {
    assert.match(tool.name, /^(fs|memory|system)_[a-z_]+$/);
    for (const schema of [tool.inputSchema, tool.outputSchema]) {
      assert.ok(schema, `${tool.name} has both schemas`);
      assert.is(schema.$schema, 'https://json-schema.org/draft/2020-12/schema', tool.name);
      assert.ok(ajv.validateSchema(schema), `${tool.name}: ${ajv.errorsText(ajv.errors)}`);
      ajv.compile(schema);
    }
    assert.ok(tool.description && tool.description.length > 10, tool.name);
    const hints = tool.annotations ?? {};
    assert.is(typeof hints.readOnlyHint, 'boolean', tool.name);
    assert.is(typeof hints.destructiveHint, 'boolean', tool.name);
    assert.is(typeof hints.idempotentHint, 'boolean', tool.name);
    assert.is(typeof hints.openWorldHint, 'boolean', tool.name);
    assert.is(hints.title, tool.title);
  }
  // .describe() texts reach the schema (the equivalent of the original's Annotated types).
  const read = tools.find((t) => t.name === 'fs_read_text_file')!;
  const properties = read.inputSchema.properties as Record<string, { description?: string }>;
  assert.is(properties.head?.description, 'Only the first N lines');
  assert.equal(read.inputSchema.required, ['path']);
  assert.is(read.annotations?.readOnlyHint, true);
  assert.is(tools.find((t) => t.name === 'fs_write_file')!.annotations?.destructiveHint, true);
});

test('structuredContent of successful calls validates against the listed output schema', async ({ server, mcp }) => {
  const { tools } = await mcp.client.listTools();
  const ajv = new Ajv2020({ strict: false });
  const admin = await server.services.users.byEmail(server.adminEmail);
  const asAdmin = await connect(server.services.tools, caller(admin!.id, [MCP_READ]));
  // system_info as an ordinary user (the short form) and, below, every system tool as an admin.
  const short = structured(await mcp.call('system_info'));
  assert.ok(ajv.compile(tools.find((t) => t.name === 'system_info')!.outputSchema!)(short));
  for (const name of [
    'system_info',
    'system_resources',
    'system_process',
    'system_event_log_status',
    'system_whoami',
    'fs_list_allowed_directories',
    'memory_read_graph',
  ]) {
    const result = await (name.startsWith('system_') ? asAdmin : mcp).call(name);
    const validate = ajv.compile(tools.find((t) => t.name === name)!.outputSchema!);
    assert.ok(validate(structured(result)), `${name}: ${ajv.errorsText(validate.errors)}`);
    assert.is(result.content[0]?.type, 'text');
  }
  await asAdmin.close();
});

test('system tools (as an admin): version, resources, projections, caller identity and scopes', async ({ server }) => {
  const admin = await server.services.users.byEmail(server.adminEmail);
  const asAdmin = await connect(server.services.tools, caller(admin!.id, [MCP_READ]));
  const info = structured<{ name: string; version: string; node: string }>(await asAdmin.call('system_info'));
  assert.is(info.name, 'remotemcp');
  assert.match(info.version, /^\d+\.\d+\.\d+/);
  assert.is(info.node, process.version);
  const resources = structured<{ cpu: { cores: number }; memory: { totalMb: number }; disks: unknown[] }>(
    await asAdmin.call('system_resources'),
  );
  assert.ok(resources.cpu.cores >= 1 && resources.memory.totalMb > 0);
  const status = structured<{ projections: { name: string; status: string }[] }>(
    await asAdmin.call('system_event_log_status'),
  );
  assert.ok(status.projections.some((p) => p.name === 'memory_notes' && p.status === 'running'));
  const me = structured<{ email: string; scopes: string[]; clientId: string; roles: string[] }>(
    await asAdmin.call('system_whoami'),
  );
  await asAdmin.close();
  assert.is(me.email, server.adminEmail);
  assert.equal(me.scopes, [MCP_READ]);
  assert.is(me.clientId, 'test-client');
  assert.ok(me.roles.includes('admin'));
});

test('requiredScope names the scope per tool; unknown tools have none', async ({ server }) => {
  const tools = server.services.tools;
  assert.is(tools.requiredScope('fs_read_text_file'), MCP_READ);
  assert.is(tools.requiredScope('fs_write_file'), MCP_WRITE);
  assert.is(tools.requiredScope('memory_store'), MCP_WRITE);
  assert.is(tools.requiredScope('memory_search'), MCP_READ);
  assert.is(tools.requiredScope('nope'), undefined);
});

test('a call without the needed scope is refused, audited as denied, and writes nothing', async ({ server }) => {
  const reader = await connect(server.services.tools, caller('scope-user', [MCP_READ]));
  const text = errorText(await reader.call('memory_store', { content: 'should not be stored' }));
  await reader.close();
  assert.is(text, 'insufficient_scope: the tool memory_store needs the scope mcp:tools:write');
  const notes = await server.services.db.query(`SELECT 1 FROM memory_notes WHERE user_id = 'scope-user'`);
  assert.is(notes.rowCount, 0);
  const audit = await auditEvents(server, 'scope-user');
  assert.is(audit.length, 1);
  assert.is(audit[0]?.outcome, 'denied');
  assert.is(audit[0]?.tool, 'memory_store');
});

test('disable/enable: events, hidden from tools/list, calls refused, list_changed sent, idempotent', async ({
  server,
  mcp,
}) => {
  const tools = server.services.tools;
  let changed = 0;
  mcp.client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    changed += 1;
  });
  assert.is(await tools.setEnabled('system_info', false, ADMIN, { reason: 'maintenance' }), true);
  assert.is(await tools.setEnabled('system_info', false, ADMIN), false);
  const events = await server.services.log.readStream('tool-system_info');
  assert.equal(
    events.map((e) => e.type),
    ['ToolDisabled'],
  );
  assert.is((events[0]?.data as { reason?: string }).reason, 'maintenance');
  assert.equal(events[0]?.metadata.actor, ADMIN);
  assert.not.ok((await mcp.client.listTools()).tools.some((t) => t.name === 'system_info'));
  assert.is(errorText(await mcp.call('system_info')), 'tool_disabled: the tool system_info is disabled on this server');
  assert.is((await tools.list()).find((t) => t.name === 'system_info')?.enabled, false);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(changed >= 1, 'notifications/tools/list_changed reached the client');
  assert.is(await tools.setEnabled('system_info', true, ADMIN), true);
  assert.ok((await mcp.client.listTools()).tools.some((t) => t.name === 'system_info'));
  assert.not.ok((await mcp.call('system_info')).isError);
  try {
    await tools.setEnabled('no_such_tool', false, ADMIN);
    assert.unreachable('unknown tools cannot be disabled');
  } catch (error) {
    assert.instance(error, DomainError);
    assert.is((error as DomainError).code, 'unknown_tool');
  }
});

test('every call is audited: user, client, session, tool, summarized arguments, duration, outcome', async ({
  server,
  mcp,
}) => {
  const root = path.join(server.dataDir, 'files');
  await mcp.call('fs_write_file', { path: 'audited.txt', content: 'the secret content' });
  await mcp.call('fs_read_text_file', { path: 'missing.txt' });
  assert.ok(fs.existsSync(path.join(root, 'audited.txt')));
  const audit = await auditEvents(server, 'registry-user');
  const write = audit.find((e) => e.tool === 'fs_write_file')!;
  assert.is(write.outcome, 'ok');
  assert.is(write.userId, 'registry-user');
  assert.is(write.clientId, 'test-client');
  assert.is(write.sessionId, 'session-registry-user');
  assert.is(write.tokenId, 'token-1');
  assert.equal(write.arguments, { path: 'audited.txt', content: '[18 chars]' });
  assert.is(typeof write.durationMs, 'number');
  const failed = audit.find((e) => e.tool === 'fs_read_text_file')!;
  assert.is(failed.outcome, 'error');
  assert.match(String(failed.error), /^not_found:/);
  // The tool_calls read model serves the admin panel.
  const head = await server.services.log.headPosition();
  await server.services.projections.waitFor(head, { projections: [toolCallsProjection] });
  const rows = await server.services.db.query<{ tool: string; outcome: string }>(
    `SELECT tool, outcome FROM tool_calls WHERE user_id = 'registry-user' ORDER BY at`,
  );
  assert.ok(rows.rows.some((r) => r.tool === 'fs_write_file' && r.outcome === 'ok'));
});

test('CLI commands: disable with a reason, enable, unknown names, list', async ({ server }) => {
  const lines: string[] = [];
  const rows: Record<string, unknown>[][] = [];
  const commands = toolsCommands(
    (line) => void lines.push(line),
    (table) => void rows.push(table),
  );
  assert.is(
    await commands['tools disable']!.run(server.services, { reason: 'cli test' }, ['system_process']),
    undefined,
  );
  assert.is(await commands['tools enable']!.run(server.services, {}, ['system_process']), undefined);
  assert.is(await commands['tools disable']!.run(server.services, {}, ['bogus']), 1);
  await commands['tools list']!.run(server.services, {}, []);
  assert.equal(lines, ['disabled system_process', 'enabled system_process', 'no tool named bogus']);
  const events = await server.services.log.readStream('tool-system_process');
  assert.equal(
    events.map((e) => [e.type, e.metadata.actor]),
    [
      ['ToolDisabled', { type: 'system', id: 'cli' }],
      ['ToolEnabled', { type: 'system', id: 'cli' }],
    ],
  );
  assert.ok(rows[0]?.some((row) => row.name === 'fs_write_file' && row.scope === MCP_WRITE && row.enabled === true));
  assert.is(
    await commands['memory backfill-embeddings']!.run(server.services, {}, []),
    1,
    'embeddings are off on this server',
  );
});

test('argument summaries redact secrets and shorten long values', () => {
  assert.equal(
    summarizeArguments({
      password: 'hunter2',
      nested: { apiKey: 'k', note: 'x'.repeat(200) },
      paths: ['a', 'b'],
      content: 'abc',
      n: 3,
    }),
    {
      password: '[redacted]',
      nested: { apiKey: '[redacted]', note: `${'x'.repeat(160)}… [200 chars]` },
      paths: ['a', 'b'],
      content: '[3 chars]',
      n: 3,
    },
  );
  assert.equal(summarizeArguments(undefined), {});
});

test('bad arguments and failing tools come back as isError results; the session keeps working', async ({
  server,
  mcp,
}) => {
  const bad = await mcp.call('fs_read_text_file', { path: 42 });
  assert.match(errorText(bad), /^invalid_arguments: .*path/s);
  assert.match(errorText(await mcp.call('fs_read_text_file', {})), /^invalid_arguments:/);
  const audited = (await auditEvents(server, 'registry-user')).filter(
    (e) => e.outcome === 'error' && String(e.error).startsWith('invalid_arguments'),
  );
  assert.is(audited.length, 2, 'invalid calls are audited too');
  assert.match(errorText(await mcp.call('memory_open_nodes', { names: ['nobody'] })), /^entity_not_found:/);
  assert.not.ok((await mcp.call('system_whoami')).isError);
});

test.run();
