// Cancellation reaches the long filesystem tools: a walk stops at its next step once the request's
// AbortSignal fires (MCP basic/utilities/cancellation; on 2026-07-28, the response stream closing).
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { pacer } from '../../../mcp/tools/fs/pace.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { caller, connect, structured, type Connected } from './support.ts';

type Context = { server: TestServer; mcp: Connected };
const test = suite<Context>('tools: cancellation of long filesystem calls');

test.before(async (context) => {
  context.server = await startTestServer();
  context.mcp = await connect(context.server.services.tools, caller('cancel-user'));
  const tree = path.join(context.server.dataDir, 'files', 'tree');
  for (let d = 0; d < 20; d += 1) {
    fs.mkdirSync(path.join(tree, `d${d}`), { recursive: true });
    for (let f = 0; f < 50; f += 1) fs.writeFileSync(path.join(tree, `d${d}`, `f${f}.txt`), '');
  }
});
test.after(async ({ server, mcp }) => {
  await mcp.close();
  await server.stop();
});

test('a pacer throws the abort reason at its next step once its signal fired', async () => {
  const controller = new AbortController();
  const pace = pacer(0, controller.signal);
  await pace();
  const reason = new Error('stop');
  controller.abort(reason);
  const thrown = await pace().then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.is(thrown, reason);
});

test('fs_directory_tree cancelled by the client stops and is audited as cancelled', async ({ server, mcp }) => {
  // Uncancelled, the call walks the whole tree.
  const whole = structured<{ entries: unknown[] }>(await mcp.call('fs_directory_tree', { path: 'tree' }));
  assert.is(whole.entries.length, 20 * 51);
  const controller = new AbortController();
  const pending = mcp.client.callTool(
    { name: 'fs_directory_tree', arguments: { path: 'tree', excludePatterns: ['cancel-marker'] } },
    undefined,
    { signal: controller.signal },
  );
  controller.abort('the user went away');
  await pending.then(
    () => assert.unreachable('the client gave up on the call'),
    () => undefined,
  );
  // The server side ends with a `cancelled` audit event (the walk stopped, nothing was returned).
  let audit: Record<string, unknown> | undefined;
  while (!audit) {
    await server.services.groupCommit.flush();
    const events = await server.services.log.readStream('audit-tools-cancel-user');
    audit = events
      .map((event) => event.data as Record<string, unknown>)
      .find((data) => JSON.stringify(data.arguments).includes('cancel-marker'));
    if (!audit) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.is(audit.outcome, 'error');
  assert.is(audit.error, 'cancelled: the call was cancelled by the client');
});

test.run();
