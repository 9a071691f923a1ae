// system_* over HTTP through /mcp: host details (hostname, platform, disks, load, pid, process stats,
// event log internals) only for admins; an ordinary user sees the server's name, version and uptime,
// and their own identity.
import os from 'node:os';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MCP_READ } from '../../../domain/scopes.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { caller, connectHttp, errorText, serveWithStandInTokens, structured, type Connected } from './support.ts';

type Context = { server: TestServer; user: Connected; admin: Connected; userId: string };
const test = suite<Context>('tools: system_* shows host details to admins only (over HTTP)');

test.before(async (context) => {
  context.server = await startTestServer();
  const { users } = context.server.services;
  await users.create(
    { email: 'plain@example.test', password: 'plain-password-123', roles: ['user'] },
    { type: 'system', id: 'test' },
  );
  const plain = await users.byEmail('plain@example.test');
  const admin = await users.byEmail(context.server.adminEmail);
  context.userId = plain!.id;
  const tokens = await serveWithStandInTokens(context.server);
  context.user = await connectHttp(context.server, tokens, caller(plain!.id, [MCP_READ]));
  context.admin = await connectHttp(context.server, tokens, caller(admin!.id, [MCP_READ]));
});
test.after(async ({ server, user, admin }) => {
  await user.close();
  await admin.close();
  await server.stop();
});

test('an ordinary user: name, version, uptime and own identity; no host, pid, disks or load', async ({
  server,
  user,
  userId,
}) => {
  const info = await user.call('system_info');
  const short = structured<Record<string, unknown>>(info);
  assert.equal(Object.keys(short).sort(), ['name', 'processUptimeSeconds', 'version']);
  assert.is(short.name, 'remotemcp');
  assert.not.ok(JSON.stringify(info).includes(os.hostname()), 'no host name anywhere in the result');
  for (const tool of ['system_resources', 'system_process', 'system_event_log_status']) {
    const result = await user.call(tool);
    assert.is(errorText(result), `admin_required: ${tool} shows details of the host; it is for admins only`);
    assert.not.match(JSON.stringify(result), /"pid"|hostname|disks|loadAverage/);
  }
  const me = structured<{ userId: string; email: string; roles: string[] }>(await user.call('system_whoami'));
  assert.is(me.userId, userId);
  assert.is(me.email, 'plain@example.test');
  assert.equal(me.roles, ['user']);
  await server.services.groupCommit.flush();
  const audit = (await server.services.log.readStream(`audit-tools-${userId}`)).map(
    (e) => e.data as { tool: string; outcome: string; error?: string },
  );
  const refused = audit.find((e) => e.tool === 'system_process');
  assert.is(refused?.outcome, 'error');
  assert.is(refused?.error, 'admin_required: system_process shows details of the host; it is for admins only');
});

test('an admin: host name, platform, disks, pid and the event log status', async ({ admin }) => {
  const info = structured<{ hostname: string; node: string; platform: string }>(await admin.call('system_info'));
  assert.is(info.hostname, os.hostname());
  assert.is(info.node, process.version);
  assert.is(info.platform, process.platform);
  const proc = structured<{ pid: number }>(await admin.call('system_process'));
  assert.is(proc.pid, process.pid);
  const resources = structured<{ disks: unknown[]; cpu: { loadAverage: number[] } }>(
    await admin.call('system_resources'),
  );
  assert.ok(Array.isArray(resources.disks));
  assert.is(resources.cpu.loadAverage.length, 3);
  const status = structured<{ projections: unknown[] }>(await admin.call('system_event_log_status'));
  assert.ok(status.projections.length > 0);
});

test('an admin demoted on this instance sees no host details on the very next call (the cached user row is dropped)', async ({
  server,
}) => {
  const { users } = server.services;
  await users.create(
    { email: 'brief-admin@example.test', password: 'brief-admin-123', roles: ['user', 'admin'] },
    { type: 'system', id: 'test' },
  );
  const row = await users.byEmail('brief-admin@example.test');
  const tokens = await serveWithStandInTokens(server);
  const brief = await connectHttp(server, tokens, caller(row!.id, [MCP_READ]));
  try {
    // Twice: the second answer comes from the cache.
    for (let i = 0; i < 2; i += 1)
      assert.is(structured<{ hostname?: string }>(await brief.call('system_info')).hostname, os.hostname());
    assert.equal(structured<{ roles: string[] }>(await brief.call('system_whoami')).roles, ['user', 'admin']);
    await users.setRoles('brief-admin@example.test', ['user'], { type: 'system', id: 'test' });
    const after = structured<Record<string, unknown>>(await brief.call('system_info'));
    assert.equal(Object.keys(after).sort(), ['name', 'processUptimeSeconds', 'version']);
    assert.is(
      errorText(await brief.call('system_process')),
      'admin_required: system_process shows details of the host; it is for admins only',
    );
    assert.equal(structured<{ roles: string[] }>(await brief.call('system_whoami')).roles, ['user']);
    // Disabled: no admin details either, whatever was cached before.
    await users.setRoles('brief-admin@example.test', ['user', 'admin'], { type: 'system', id: 'test' });
    assert.is(structured<{ hostname?: string }>(await brief.call('system_info')).hostname, os.hostname());
    await users.disable('brief-admin@example.test', { type: 'system', id: 'test' });
    assert.is(structured<{ hostname?: string }>(await brief.call('system_info')).hostname, undefined);
  } finally {
    await brief.close();
  }
});

test.run();
