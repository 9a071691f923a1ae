// Any instance serves any session: two real servers on one PostgreSQL database (no sticky sessions).
// Needs TEST_DATABASE_URL (embedded PGlite is single-process).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { serverUrl } from '../support/databases.ts';
import { skipSuite } from '../support/skip.ts';
import { callTool, openSession, postRpc, sessionHeaders, waitForResponse } from './raw.ts';
import { readSse, startInstancePair, type InstancePair, type SseEvent } from './support.ts';

type Context = InstancePair & { token: string; resource: string };
const test = suite<Context>('mcp: two instances, one database');
const CASES = 4;

const messages = (events: SseEvent[]) =>
  events
    .filter((event) => event.data !== '')
    .map((event) => JSON.parse(event.data) as { params?: { data?: string }; result?: unknown });

if (!serverUrl()) {
  skipSuite('mcp: two instances, one database', 'TEST_DATABASE_URL not set', CASES);
} else {
  test.before(async (context) => {
    Object.assign(context, await startInstancePair());
    context.resource = `${context.a.base}/mcp`;
    context.token = (await context.tokens.issue({ sub: 'user-a', aud: context.resource })).token;
  });
  test.after(async (context) => context.stop());

  test('a session opened on A continues on B (state rebuilt from the log)', async (context) => {
    const headers = { Authorization: `Bearer ${context.token}` };
    const onA = new Client({ name: 'e2e', version: '1' });
    const transportA = new StreamableHTTPClientTransport(new URL(`${context.a.url}/mcp`), { requestInit: { headers } });
    await onA.connect(transportA);
    const onB = new Client({ name: 'e2e', version: '1' });
    const transportB = new StreamableHTTPClientTransport(new URL(`${context.b.url}/mcp`), {
      requestInit: { headers },
      sessionId: transportA.sessionId!,
    });
    await onB.connect(transportB);
    const result = await onB.callTool({ name: 'echo', arguments: { text: 'via B' } });
    assert.equal(result.content, [{ type: 'text', text: 'via B' }]);
    const tools = await onB.listTools();
    assert.ok(tools.tools.some((tool) => tool.name === 'echo'));
    // Another user's token cannot use it on B either.
    const intruder = (await context.tokens.issue({ sub: 'user-b', aud: context.resource })).token;
    const refused = await postRpc(
      `${context.b.url}/mcp`,
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      sessionHeaders(intruder, transportA.sessionId!),
    );
    assert.is(refused.status, 404);
    await onA.close();
    await onB.close();
  });

  test('a request stream dropped on A resumes on B with Last-Event-ID: missed messages (some produced on A while attached to B) arrive once', async (context) => {
    const sessionId = await openSession(context.a.url, context.token);
    const call = await callTool(context.a.url, context.token, sessionId, 7, 'count_slowly', { count: 8, delayMs: 120 });
    const seen = await readSse(call, (events) => events.length === 3);
    assert.equal(
      messages(seen).map((m) => m.params?.data),
      ['tick 1', 'tick 2'],
    );
    const resumed = await fetch(`${context.b.url}/mcp`, {
      headers: {
        ...sessionHeaders(context.token, sessionId),
        accept: 'text/event-stream',
        'last-event-id': seen[2]!.id!,
      },
    });
    assert.is(resumed.status, 200);
    const rest = await readSse(resumed);
    assert.equal(
      messages(rest).map((m) => m.params?.data ?? m.result),
      ['tick 3', 'tick 4', 'tick 5', 'tick 6', 'tick 7', 'tick 8', { content: [{ type: 'text', text: 'counted 8' }] }],
    );
    assert.is(new Set(rest.map((event) => event.id)).size, rest.length);
  });

  test('the SDK client resumes on B with its resumption token and gets the missed notifications and the result', async (context) => {
    const sessionId = await openSession(context.a.url, context.token);
    const call = await callTool(context.a.url, context.token, sessionId, 1, 'count_slowly', { count: 5, delayMs: 60 });
    const seen = await readSse(call, (events) => events.length === 2);
    const client = new Client({ name: 'e2e', version: '1' });
    const transport = new StreamableHTTPClientTransport(new URL(`${context.b.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${context.token}` } },
      sessionId,
    });
    await client.connect(transport);
    const ticks: unknown[] = [];
    client.setNotificationHandler(
      LoggingMessageNotificationSchema,
      (notification) => void ticks.push(notification.params.data),
    );
    const result = await client.request(
      { method: 'tools/call', params: { name: 'count_slowly', arguments: { count: 5, delayMs: 60 } } },
      CallToolResultSchema,
      { resumptionToken: seen[1]!.id! },
    );
    assert.equal(result.content, [{ type: 'text', text: 'counted 5' }]);
    assert.equal(ticks, ['tick 2', 'tick 3', 'tick 4', 'tick 5']);
    await waitForResponse(context.a, sessionId, 1);
    await client.close();
  });

  test('the GET stream on B delivers messages produced on A; DELETE on A ends the session on B', async (context) => {
    const sessionId = await openSession(context.a.url, context.token);
    const stream = await fetch(`${context.b.url}/mcp`, {
      headers: { ...sessionHeaders(context.token, sessionId), accept: 'text/event-stream' },
    });
    assert.is(stream.status, 200);
    const live = readSse(stream, (events) => events.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const announce = await callTool(context.a.url, context.token, sessionId, 1, 'announce', { text: 'from A' });
    await announce.text();
    assert.equal(
      messages(await live).map((m) => m.params?.data),
      ['announce from A'],
    );

    const deleted = await fetch(`${context.a.url}/mcp`, {
      method: 'DELETE',
      headers: sessionHeaders(context.token, sessionId),
    });
    assert.is(deleted.status, 200);
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 404; attempt += 1) {
      const response = await postRpc(
        `${context.b.url}/mcp`,
        { jsonrpc: '2.0', id: 2, method: 'tools/list' },
        sessionHeaders(context.token, sessionId),
      );
      status = response.status;
      await response.text();
      if (status !== 404) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.is(status, 404);
  });
}

test.run();
