// GET streams of a session: one reader per stream (standalone or request) with or without Last-Event-ID,
// a bound per session, a resume after the response ends at once; idle sessions' servers are evicted.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { messageStream } from '../../domain/sessions/index.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { callTool, getStream, openReader, openSession } from './raw.ts';
import { StandInTokens, readSse, useStandIns } from './support.ts';

type Context = { server: TestServer; tokens: StandInTokens; token: string };

const start = async (context: Context, env: Record<string, string>) => {
  context.server = await startTestServer(env);
  context.tokens = await StandInTokens.create();
  await useStandIns(context.server, context.tokens);
  context.token = (await context.tokens.issue({ sub: 'user-a', aud: `${context.server.base}/mcp` })).token;
};

const rpcBody = (message: string) => ({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
const ONE_STANDALONE = 'Conflict: Only one SSE stream is allowed per session';
const ONE_READER = 'Conflict: this stream is already being resumed on another connection';
const storedCount = async (context: Context, sessionId: string) =>
  (await context.server.services.log.readStream(messageStream(sessionId))).length;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A slow call whose POST is dropped after its first tick; returns that tick's event id. */
const droppedSlowCall = async (context: Context, sessionId: string, id: number): Promise<string> => {
  const call = await callTool(context.server.base, context.token, sessionId, id, 'count_slowly', {
    count: 60,
    delayMs: 50,
  });
  const seen = await readSse(call, (events) => events.length === 2);
  return seen[1]!.id!;
};

const streams = suite<Context>('mcp: one reader per stream');
streams.before((context) => start(context, { MCP_MAX_STREAMS_PER_SESSION: '3' }));
streams.after(({ server }) => server.stop());

streams(
  'a second standalone stream is 409 with or without Last-Event-ID, and writes nothing; a new one once the first is gone',
  async (context) => {
    const { base } = context.server;
    const sessionId = await openSession(base, context.token);
    const first = await getStream(base, context.token, sessionId);
    assert.is(first.status, 200);
    const reader = openReader(first);
    const priming = await reader.next();
    assert.match(priming.id!, new RegExp(`^${sessionId}/_GET_stream/\\d+$`));
    const stored = await storedCount(context, sessionId);

    for (const lastEventId of [undefined, priming.id!]) {
      const second = await getStream(base, context.token, sessionId, lastEventId);
      assert.is(second.status, 409, `Last-Event-ID ${lastEventId}`);
      assert.is(second.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.equal(await second.json(), rpcBody(ONE_STANDALONE));
    }
    assert.is(await storedCount(context, sessionId), stored, 'no priming event for a refused stream');

    await reader.close();
    // The slot is free once the server has seen the first stream close: a resume takes it.
    let again: Response | undefined;
    for (let attempt = 0; attempt < 50 && again?.status !== 200; attempt += 1) {
      await again?.text();
      await sleep(20);
      again = await getStream(base, context.token, sessionId, priming.id!);
    }
    assert.is(again!.status, 200);
    await again!.body!.cancel();
  },
);

streams('a request stream has one reader: its POST or one resumption; another is 409', async (context) => {
  const { base } = context.server;
  const sessionId = await openSession(base, context.token);
  const tick = await droppedSlowCall(context, sessionId, 1);
  const resumed = await getStream(base, context.token, sessionId, tick);
  assert.is(resumed.status, 200);
  const reader = openReader(resumed);
  assert.match((await reader.next()).data, /tick 2/);

  const twice = await getStream(base, context.token, sessionId, tick);
  assert.is(twice.status, 409);
  assert.equal(await twice.json(), rpcBody(ONE_READER));
  await reader.close();

  // Its POST still reads the stream: a resumption of it meanwhile is a second reader.
  const live = await callTool(base, context.token, sessionId, 2, 'count_slowly', { count: 20, delayMs: 50 });
  const liveReader = openReader(live);
  const priming = await liveReader.next();
  const during = await getStream(base, context.token, sessionId, priming.id!);
  assert.is(during.status, 409);
  assert.equal(await during.json(), rpcBody(ONE_READER));
  await liveReader.close();
});

streams('a resume after the response ends at once (nothing more will come on that stream)', async (context) => {
  const { base } = context.server;
  const sessionId = await openSession(base, context.token);
  const events = await readSse(await callTool(base, context.token, sessionId, 1, 'echo', { text: 'done' }));
  const response = events.find((event) => event.data.includes('"result"'))!;
  const resumed = await getStream(base, context.token, sessionId, response.id!, AbortSignal.timeout(3_000));
  assert.is(resumed.status, 200);
  const rest = await readSse(resumed);
  assert.equal(
    rest.filter((event) => event.data !== ''),
    [],
  );
});

streams(
  'more open GET streams than MCP_MAX_STREAMS_PER_SESSION → 429 with Retry-After; other sessions unaffected',
  async (context) => {
    const { base } = context.server;
    const sessionId = await openSession(base, context.token);
    const open: ReturnType<typeof openReader>[] = [];
    const standalone = await getStream(base, context.token, sessionId);
    assert.is(standalone.status, 200);
    open.push(openReader(standalone));
    for (const id of [1, 2]) {
      const resumed = await getStream(base, context.token, sessionId, await droppedSlowCall(context, sessionId, id));
      assert.is(resumed.status, 200);
      open.push(openReader(resumed));
    }
    const fourth = await getStream(base, context.token, sessionId, await droppedSlowCall(context, sessionId, 3));
    assert.is(fourth.status, 429);
    assert.is(fourth.headers.get('retry-after'), '1');
    assert.equal(await fourth.json(), rpcBody('Too Many Requests: at most 3 SSE streams may be open per session'));
    const other = await openSession(base, context.token);
    assert.is((await getStream(base, context.token, other)).status, 200);
    await Promise.all(open.map((reader) => reader.close()));
  },
);

const eviction = suite<Context>('mcp: idle sessions leave memory');
eviction.before((context) => start(context, { MCP_SESSION_IDLE_TIMEOUT: '1s' }));
eviction.after(({ server }) => server.stop());

eviction(
  'an idle session is evicted and rebuilt by its next call; one with a running call or a standalone stream stays',
  async (context) => {
    const { base } = context.server;
    const sessions = context.server.services.mcp.sessions;
    const idle = await openSession(base, context.token);
    const listening = await openSession(base, context.token);
    const busy = await openSession(base, context.token);
    const stream = openReader(await getStream(base, context.token, listening));
    await stream.next();
    const running = callTool(base, context.token, busy, 1, 'count_slowly', { count: 60, delayMs: 50 });
    // Idle for 1 s, swept every second: gone within ~2 s.
    for (let waited = 0; waited < 4_000 && sessions.isHosted(idle); waited += 100) await sleep(100);
    assert.is(sessions.isHosted(idle), false);
    assert.is(sessions.isHosted(listening), true);
    assert.is(sessions.isHosted(busy), true);

    const events = await readSse(await callTool(base, context.token, idle, 2, 'echo', { text: 'rebuilt' }));
    const answer = JSON.parse(events.find((event) => event.data.includes('"result"'))!.data) as unknown;
    assert.equal(answer, { result: { content: [{ type: 'text', text: 'rebuilt' }] }, jsonrpc: '2.0', id: 2 });
    assert.is(sessions.isHosted(idle), true);
    await stream.close();
    await (await running).body!.cancel();
  },
);

streams.run();
eviction.run();
