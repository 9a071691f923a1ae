// The POST side of Streamable HTTP (mcp/transport.ts, http/mcp/post.ts, http/mcp/sse.ts) on the wire:
// request checks, batches, one SSE stream per POST, and what happens to a stream whose client left.
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { messageStream } from '../../domain/sessions/index.ts';
import { serverUrl } from '../support/databases.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { skipSuite } from '../support/skip.ts';
import { StandInTokens, readSse, startInstancePair, useStandIns, type InstancePair } from './support.ts';
import { callTool, openSession, postRpc, sessionHeaders, waitForResponse } from './raw.ts';

type Context = { server: TestServer; tokens: StandInTokens; token: string; base: string };
const test = suite<Context>('mcp: the POST transport');

const ACCEPT = 'application/json, text/event-stream';

test.before(async (context) => {
  context.server = await startTestServer();
  context.base = context.server.base;
  context.tokens = await StandInTokens.create();
  await useStandIns(context.server, context.tokens);
  context.token = (await context.tokens.issue({ sub: 'user-a', aud: `${context.base}/mcp` })).token;
});
test.after(async ({ server }) => server.stop());

const post = (context: Context, body: unknown, headers: Record<string, string>) =>
  fetch(`${context.base}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers },
    body: JSON.stringify(body),
  });

const storedMessages = async (context: Context, sessionId: string) =>
  (await context.server.services.log.readStream(messageStream(sessionId))).map(
    (event) => (event.data as { message: { id?: unknown; result?: unknown } }).message,
  );

test('Accept must name both answer forms (406); a batch over 100 messages, or initialize with company, is refused (400); nothing runs', async (context) => {
  const sessionId = await openSession(context.base, context.token);
  const headers = sessionHeaders(context.token, sessionId);
  const call = (id: number) => ({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'echo', arguments: { text: `call ${id}` } },
  });

  const jsonOnly = await post(context, call(1), { ...headers, accept: 'application/json' });
  assert.is(jsonOnly.status, 406);
  assert.equal(await jsonOnly.json(), {
    jsonrpc: '2.0',
    error: { code: -32000, message: 'Not Acceptable: Client must accept both application/json and text/event-stream' },
    id: null,
  });

  const tooMany = await post(
    context,
    Array.from({ length: 101 }, (_, i) => call(i + 10)),
    headers,
  );
  assert.is(tooMany.status, 400);
  assert.equal(await tooMany.json(), {
    jsonrpc: '2.0',
    error: { code: -32600, message: 'Invalid Request: Batch must not exceed 100 messages' },
    id: null,
  });

  const initialize = {
    jsonrpc: '2.0',
    id: 500,
    method: 'initialize',
    params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  };
  const withCompany = await post(context, [initialize, call(501)], { authorization: headers.authorization! });
  assert.is(withCompany.status, 400);
  assert.equal(await withCompany.json(), {
    jsonrpc: '2.0',
    error: { code: -32600, message: 'Invalid Request: Only one initialization request is allowed' },
    id: null,
  });
  assert.is(withCompany.headers.get('mcp-session-id'), null, 'no session was opened');

  // None of the refused calls reached the tool or the log: only the initialize answer is there.
  assert.equal(
    (await storedMessages(context, sessionId)).map((message) => message.id),
    [0],
  );
});

test('a 2025-03-26 batch: notifications alone → 202; two calls answer on one stream, which ends after both', async (context) => {
  const init = await post(
    context,
    {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'batch', version: '1' } },
    },
    { authorization: `Bearer ${context.token}` },
  );
  assert.is(init.status, 200);
  await init.text();
  const sessionId = init.headers.get('mcp-session-id')!;
  const headers = { ...sessionHeaders(context.token, sessionId), 'mcp-protocol-version': '2025-03-26' };
  const notified = await post(context, [{ jsonrpc: '2.0', method: 'notifications/initialized' }], headers);
  assert.is(notified.status, 202);
  assert.is(await notified.text(), '');

  const batch = await post(
    context,
    [
      {
        jsonrpc: '2.0',
        id: 'slow',
        method: 'tools/call',
        params: { name: 'slow_echo', arguments: { text: 'second', delayMs: 60 } },
      },
      { jsonrpc: '2.0', id: 'fast', method: 'tools/call', params: { name: 'echo', arguments: { text: 'first' } } },
    ],
    headers,
  );
  assert.is(batch.status, 200);
  assert.is(batch.headers.get('content-type'), 'text/event-stream');
  const events = await readSse(batch);
  // No priming event for a 2025-03-26 client; each answer has an id on the same stream.
  const answers = events.map(
    (event) => JSON.parse(event.data) as { id: string; result: { content: { text: string }[] } },
  );
  assert.equal(
    answers.map((answer) => [answer.id, answer.result.content[0]!.text]),
    [
      ['fast', 'first'],
      ['slow', 'second'],
    ],
  );
  const streams = new Set(events.map((event) => event.id!.split('/')[1]));
  assert.is(streams.size, 1);
});

test('a client that leaves a resumable stream early: the rest is stored and replays; the session goes on', async (context) => {
  const sessionId = await openSession(context.base, context.token);
  const headers = sessionHeaders(context.token, sessionId);
  // Past the 20 ms coalescing window, so the priming event reaches the client on its own.
  const [priming] = await readSse(
    await callTool(context.base, context.token, sessionId, 1, 'slow_echo', { text: 'after you left', delayMs: 150 }),
    (events) => events.length === 1,
  );
  assert.is(priming!.data, '');
  await waitForResponse(context.server, sessionId, 1);
  const resumed = await fetch(`${context.base}/mcp`, {
    headers: { ...headers, accept: 'text/event-stream', 'last-event-id': priming!.id! },
  });
  assert.is(resumed.status, 200);
  const replayed = (await readSse(resumed)).filter((event) => event.data !== '');
  assert.equal(
    replayed.map((event) => JSON.parse(event.data).result),
    [{ content: [{ type: 'text', text: 'after you left' }] }],
  );

  const next = await readSse(await callTool(context.base, context.token, sessionId, 2, 'echo', { text: 'still here' }));
  assert.match(next.at(-1)!.data, /still here/);
});

test('a 2025-06-18 client that leaves before any event id: its answer is not kept (it could not resume), the session goes on', async (context) => {
  const init = await post(
    context,
    {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'old', version: '1' } },
    },
    { authorization: `Bearer ${context.token}` },
  );
  await init.text();
  const sessionId = init.headers.get('mcp-session-id')!;
  const headers = { ...sessionHeaders(context.token, sessionId), 'mcp-protocol-version': '2025-06-18' };
  assert.is((await post(context, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers)).status, 202);

  const controller = new AbortController();
  const leaving = post(
    context,
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'slow_echo', arguments: { text: 'unheard', delayMs: 150 } },
    },
    headers,
  );
  const response = await fetch(`${context.base}/mcp`, {
    method: 'POST',
    signal: controller.signal,
    headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'slow_echo', arguments: { text: 'dropped', delayMs: 150 } },
    }),
  });
  assert.is(response.status, 200);
  // The headers are out after the coalescing window; nothing with an id has been sent yet.
  controller.abort();
  const other = await readSse(await leaving);
  assert.match(other.at(-1)!.data, /unheard/);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const stored = await storedMessages(context, sessionId);
  assert.ok(stored.some((message) => message.id === 1 && message.result));
  assert.not.ok(
    stored.some((message) => message.id === 2),
    'the dropped call left nothing to replay',
  );
  const after = await readSse(
    await post(
      context,
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'echo', arguments: { text: 'next' } } },
      headers,
    ),
  );
  assert.match(after.at(-1)!.data, /next/);
});

test("an answer's headers: SSE, the session, the API security headers (not a page's), a request id", async (context) => {
  const sessionId = await openSession(context.base, context.token);
  const response = await callTool(context.base, context.token, sessionId, 1, 'echo', { text: 'headers' });
  await response.text();
  assert.is(response.headers.get('content-type'), 'text/event-stream');
  assert.is(response.headers.get('mcp-session-id'), sessionId);
  assert.is(response.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'");
  assert.is(response.headers.get('x-content-type-options'), 'nosniff');
  assert.is(response.headers.get('x-frame-options'), 'DENY');
  assert.is(response.headers.get('strict-transport-security'), null, 'PUBLIC_URL is http here');
  assert.is(response.headers.get('x-dns-prefetch-control'), null);
  assert.match(response.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  // Refusals carry them too.
  const refused = await fetch(`${context.base}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ACCEPT },
    body: '{}',
  });
  assert.is(refused.status, 401);
  assert.is(refused.headers.get('x-content-type-options'), 'nosniff');
  assert.is(refused.headers.get('x-frame-options'), 'DENY');
});

test("messages nobody here follows do not wake this instance's tail; a session with a GET stream here gets its messages at once", async (context) => {
  const { log } = context.server.services;
  let reads = 0;
  const readAll = log.readAll.bind(log);
  log.readAll = async (options) => {
    reads += 1;
    return readAll(options);
  };
  try {
    const sessionId = await openSession(context.base, context.token);
    // No GET stream: the calls' commits leave the tail to its poll (500 ms) and other wake-ups.
    reads = 0;
    const started = performance.now();
    for (let i = 0; i < 30; i += 1)
      await (await callTool(context.base, context.token, sessionId, i + 1, 'echo', { text: `quiet ${i}` })).text();
    const elapsed = performance.now() - started;
    // One read per commit would be 30 or more.
    assert.ok(reads <= 2 + Math.ceil(elapsed / 250), `${reads} tail reads for 30 calls in ${Math.round(elapsed)} ms`);

    // With a GET stream attached here, each message arrives long before a poll would bring it.
    const stream = await fetch(`${context.base}/mcp`, {
      headers: { ...sessionHeaders(context.token, sessionId), accept: 'text/event-stream' },
    });
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    const until = async (text: string) => {
      while (!buffer.includes(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${text}`);
        buffer += value;
      }
    };
    await until('retry:');
    const delays: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const sent = performance.now();
      const call = callTool(context.base, context.token, sessionId, `a${i}`, 'announce', { text: `loud ${i}` });
      await until(`announce loud ${i}`);
      delays.push(performance.now() - sent);
      await (await call).text();
    }
    await reader.cancel();
    // A poll every 500 ms would make these 0–500 ms each; five under 150 ms by chance is very unlikely.
    assert.ok(
      delays.every((delay) => delay < 150),
      `delays ${delays.map(Math.round).join(', ')} ms`,
    );
  } finally {
    log.readAll = readAll;
  }
});

test("a session's messages reach the SDK server's handler of their kind, not its schema-matching onmessage", async (context) => {
  const sessionId = await openSession(context.base, context.token);
  const host = await context.server.services.mcp.sessions.find(sessionId, {
    userId: 'user-a',
    clientId: 'client-1',
    scopes: [],
    tokenId: undefined,
  });
  const transport = host!.transport;
  const original = transport.onmessage;
  let viaOnmessage = 0;
  transport.onmessage = (message, extra) => {
    viaOnmessage += 1;
    original?.(message, extra);
  };
  const call = await callTool(context.base, context.token, sessionId, 41, 'echo', { text: 'routed' });
  assert.is(call.status, 200);
  const events = (await readSse(call)).filter((event) => event.data);
  assert.equal(JSON.parse(events[0]!.data), {
    result: { content: [{ type: 'text', text: 'routed' }] },
    jsonrpc: '2.0',
    id: 41,
  });
  const notification = await post(
    context,
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    sessionHeaders(context.token, sessionId),
  );
  assert.is(notification.status, 202);
  // A client's answer to nothing the server asked: the SDK's response handler reports it (onerror), no crash.
  const stray = await post(context, { jsonrpc: '2.0', id: 99, result: {} }, sessionHeaders(context.token, sessionId));
  assert.is(stray.status, 202);
  assert.is(viaOnmessage, 0);
});

test.run();

// While another connection holds the session's stream row, no append to it can commit: what reaches the
// client meanwhile was sent with its append under way.
const HELD = 'mcp: the POST transport while the log cannot commit';
if (!serverUrl()) skipSuite(HELD, 'TEST_DATABASE_URL not set (a second connection holds a row lock)', 2);
else {
  type Two = InstancePair & { token: string };
  const held = suite<Two>(HELD);
  held.before(async (context) => {
    Object.assign(context, await startInstancePair());
    context.token = (await context.tokens.issue({ sub: 'user-a', aud: `${context.a.base}/mcp` })).token;
  });
  held.after(async (context) => context.stop());

  /** Holds the row of the session's message stream (every append to it waits) until `release`. */
  const holdStream = async (context: Two, sessionId: string) => {
    const db = new pg.Client({ connectionString: context.a.env.DATABASE_URL });
    await db.connect();
    await db.query('BEGIN');
    const locked = await db.query(`SELECT 1 FROM event_streams WHERE stream_id = $1 FOR UPDATE`, [
      messageStream(sessionId),
    ]);
    assert.is(locked.rowCount, 1, 'the stream exists and is held');
    return async () => {
      await db.query('COMMIT');
      await db.end();
    };
  };
  const responseIds = async (server: TestServer, sessionId: string) =>
    (await server.services.log.readStream(messageStream(sessionId)))
      .map((event) => (event.data as { message: { id?: unknown; result?: unknown } }).message)
      .filter((message) => message.result !== undefined)
      .map((message) => message.id);
  const settle = <T>(promise: Promise<T>, ms: number) =>
    Promise.race([promise, new Promise<'waiting'>((resolve) => setTimeout(() => resolve('waiting'), ms))]);

  held(
    'a read-only call is answered and its stream ended before its commit; a call that may change something waits for it',
    async (context) => {
      const { a, token } = context;
      const sessionId = await openSession(a.base, token);
      await readSse(await callTool(a.base, token, sessionId, 1, 'echo', { text: 'first' }));
      const before = await responseIds(a, sessionId);
      const release = await holdStream(context, sessionId);
      let released = false;
      try {
        const read = await settle(
          readSse(await callTool(a.base, token, sessionId, 2, 'peek', { text: 'read' })),
          3_000,
        );
        assert.ok(read !== 'waiting', 'the read-only call was answered while the log could not commit');
        const answers = read
          .filter((event) => event.data)
          .map((event) => JSON.parse(event.data) as { result?: unknown });
        assert.equal(answers, [{ result: { content: [{ type: 'text', text: 'read' }] }, jsonrpc: '2.0', id: 2 }]);
        assert.equal(await responseIds(a, sessionId), before, 'its append is still waiting');
        // tools/list and ping change nothing either.
        for (const [id, method] of [
          [20, 'tools/list'],
          [21, 'ping'],
        ] as const) {
          const reply = await postRpc(
            `${a.base}/mcp`,
            { jsonrpc: '2.0', id, method },
            sessionHeaders(token, sessionId),
          );
          const events = await settle(readSse(reply), 3_000);
          assert.ok(events !== 'waiting', `${method} was answered while the log could not commit`);
          assert.ok(
            events.some((event) => event.data.includes(`"id":${id}`)),
            method,
          );
        }

        const write = callTool(a.base, token, sessionId, 3, 'echo', { text: 'write' }).then((response) =>
          readSse(response),
        );
        assert.is(await settle(write, 400), 'waiting', 'a call that may change something is answered only once stored');
        await release();
        released = true;
        const written = (await write).filter((event) => event.data).map((event) => JSON.parse(event.data) as unknown);
        assert.equal(written, [{ result: { content: [{ type: 'text', text: 'write' }] }, jsonrpc: '2.0', id: 3 }]);
        assert.equal(await responseIds(a, sessionId), [...before, 2, 20, 21, 3], 'each response stored once, in order');
      } finally {
        if (!released) await release();
      }
    },
  );

  held(
    'a client that lost a read-only answer resumes on another instance from the priming id once the append lands',
    async (context) => {
      const { a, b, token } = context;
      const sessionId = await openSession(a.base, token);
      await readSse(await callTool(a.base, token, sessionId, 1, 'echo', { text: 'first' }));
      const release = await holdStream(context, sessionId);
      let released = false;
      try {
        // The client reads the priming event and loses the rest.
        const [priming] = await readSse(
          await callTool(a.base, token, sessionId, 2, 'peek', { text: 'lost' }),
          (events) => events.length === 1,
        );
        assert.is(priming!.data, '');
        // The client resumes on B at once; B finds nothing of the stream until A's append commits.
        const resumed = fetch(`${b.base}/mcp`, {
          headers: { ...sessionHeaders(token, sessionId), accept: 'text/event-stream', 'last-event-id': priming!.id! },
        });
        await new Promise((resolve) => setTimeout(resolve, 200));
        await release();
        released = true;
        const response = await resumed;
        assert.is(response.status, 200);
        const replayed = (await readSse(response)).filter((event) => event.data).map((event) => JSON.parse(event.data));
        assert.equal(replayed, [{ result: { content: [{ type: 'text', text: 'lost' }] }, jsonrpc: '2.0', id: 2 }]);
      } finally {
        if (!released) await release();
      }
    },
  );

  held.run();
}
