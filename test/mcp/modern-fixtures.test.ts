// The 2026-07-28 answers that need the conformance fixtures (loopback-only, unauthenticated mode):
// -32021 for an input request the client cannot answer, log messages only on request, and a tampered
// requestState refused before the tool runs. Exact bodies.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../support/server.ts';
import { postRpc } from './raw.ts';

const test = suite<{ server: TestServer }>('mcp: 2026-07-28 fixtures answers');

test.before(async (context) => {
  context.server = await startTestServer({ MCP_CONFORMANCE_FIXTURES: '1' });
});
test.after(async ({ server }) => server.stop());

const V2026 = '2026-07-28';
const call = async (
  server: TestServer,
  name: string,
  meta: Record<string, unknown> = {},
  params: Record<string, unknown> = {},
) => {
  const response = await postRpc(
    `${server.base}/mcp`,
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: {
        name,
        arguments: {},
        ...params,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': V2026,
          'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
          'io.modelcontextprotocol/clientCapabilities': {},
          ...meta,
        },
      },
    },
    { 'mcp-protocol-version': V2026, 'mcp-method': 'tools/call', 'mcp-name': name },
  );
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
};

/** The JSON-RPC messages of an answer, JSON or SSE. */
const messagesOf = (answer: { type: string | null; text: string }): { method?: string; result?: unknown }[] =>
  answer.type?.startsWith('text/event-stream')
    ? answer.text
        .split('\n')
        .filter((line) => line.startsWith('data: ') && line.length > 6)
        .map((line) => JSON.parse(line.slice(6)))
    : [JSON.parse(answer.text)];

test('-32021 over 400: the tool needs sampling, the client declared no such capability', async ({ server }) => {
  const answer = await call(server, 'test_missing_capability');
  assert.is(answer.status, 400);
  assert.equal(JSON.parse(answer.text), {
    jsonrpc: '2.0',
    id: 1,
    error: {
      code: -32021,
      message:
        "Cannot request input 'llm_answer' (sampling/createMessage): the request's client capabilities do not declare the required capability",
      data: { requiredCapabilities: { sampling: {} } },
    },
  });
});

test('notifications/message only when the request names a log level', async ({ server }) => {
  const silent = messagesOf(await call(server, 'test_logging_tool'));
  assert.equal(
    silent.map((message) => message.method ?? 'result'),
    ['result'],
  );
  const verbose = messagesOf(await call(server, 'test_logging_tool', { 'io.modelcontextprotocol/logLevel': 'info' }));
  assert.equal(
    verbose.map((message) => message.method ?? 'result'),
    ['notifications/message', 'result'],
  );
});

test('requestState: the sealed state round-trips; a changed byte is refused with -32602', async ({ server }) => {
  const elicitation = { 'io.modelcontextprotocol/clientCapabilities': { elicitation: {} } };
  const first = JSON.parse((await call(server, 'test_input_required_result_request_state', elicitation)).text);
  assert.is(first.result.resultType, 'input_required');
  const state = first.result.requestState as string;
  const inputResponses = { confirm: { action: 'accept', content: { ok: true } } };
  const retried = JSON.parse(
    (
      await call(server, 'test_input_required_result_request_state', elicitation, {
        inputResponses,
        requestState: state,
      })
    ).text,
  );
  assert.equal(retried.result.content, [
    { type: 'text', text: 'state-ok: requestState verified and confirmation received' },
  ]);
  const last = state.at(-2) === 'A' ? 'B' : 'A';
  const tampered = `${state.slice(0, -2)}${last}${state.at(-1)}`;
  const refused = await call(server, 'test_input_required_result_request_state', elicitation, {
    inputResponses,
    requestState: tampered,
  });
  const body = JSON.parse(refused.text);
  assert.is(body.error.code, -32602);
  assert.is(body.error.data.reason, 'invalid_request_state');
  assert.is(body.id, 1);
});

test.run();
