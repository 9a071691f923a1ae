// Resumable streams: every message on an SSE stream is an event; Last-Event-ID replays exactly the
// missed ones of that stream; forged ids are refused; retention bounds the message streams.
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { messageStream, sessionStream } from '../../domain/sessions/index.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { StandInTokens, readSse, useStandIns, type SseEvent } from './support.ts';
import { callTool, openSession, sessionHeaders, waitForResponse } from './raw.ts';

type Context = { server: TestServer; tokens: StandInTokens; token: string };
const test = suite<Context>('mcp: resumption from the event log');

test.before(async (context) => {
  context.server = await startTestServer({ EVENT_RETENTION_MAX_PER_STREAM: '40' });
  context.tokens = await StandInTokens.create();
  await useStandIns(context.server, context.tokens);
  context.token = (await context.tokens.issue({ sub: 'user-a', aud: `${context.server.base}/mcp` })).token;
});
test.after(async ({ server }) => server.stop());

const messages = (events: SseEvent[]) =>
  events
    .filter((event) => event.data !== '')
    .map((event) => JSON.parse(event.data) as { id?: number; params?: { data?: string }; result?: unknown });
const revision = (id: string) => BigInt(id.split('/')[2]!);

test('a dropped request stream resumes with Last-Event-ID: every missed message once, in order, then the stream ends', async (context) => {
  const base = context.server.base;
  const sessionId = await openSession(base, context.token);
  const call = await callTool(base, context.token, sessionId, 7, 'count_slowly', { count: 6, delayMs: 40 });
  // Priming event first: an id, retry, empty data (MCP 2025-11-25 §Resumability).
  const seen = await readSse(call, (events) => events.length === 3);
  assert.is(seen[0]!.data, '');
  assert.is(seen[0]!.retry, 1000);
  assert.match(seen[0]!.id!, new RegExp(`^${sessionId}/[0-9a-f-]{36}/\\d+$`));
  assert.equal(
    messages(seen).map((m) => m.params?.data),
    ['tick 1', 'tick 2'],
  );
  await waitForResponse(context.server, sessionId, 7);

  const resumed = await fetch(`${base}/mcp`, {
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
    ['tick 3', 'tick 4', 'tick 5', 'tick 6', { content: [{ type: 'text', text: 'counted 6' }] }],
  );
  const ids = rest.map((event) => event.id!);
  assert.ok(ids.every((id, i) => i === 0 || revision(id) > revision(ids[i - 1]!)));
  assert.ok(revision(ids[0]!) > revision(seen[2]!.id!));
});

test('a message is in the log before the client receives it (stored, then sent: replayable even if the sender dies)', async (context) => {
  const base = context.server.base;
  const sessionId = await openSession(base, context.token);
  const call = await callTool(base, context.token, sessionId, 3, 'echo', { text: 'stored first' });
  const seen = await readSse(call);
  const response = seen.find((event) => event.data.includes('stored first'))!;
  // Read at once, with no wait for a write-behind: the response's event must already be there.
  const stored = await context.server.services.log.readStream(messageStream(sessionId));
  const orders = stored
    .map((event) => event.data as { streamId: string; seq?: number })
    .filter((data) => `${sessionId}/${data.streamId}/${data.seq}` === response.id);
  assert.is(orders.length, 1);
});

test('a priming event is stored only when its stream sends nothing else in the same turn; its id resumes the stream either way', async (context) => {
  const base = context.server.base;
  const sessionId = await openSession(base, context.token);
  const headers = sessionHeaders(context.token, sessionId);
  const post = (id: number, name: string, args: Record<string, unknown>) =>
    callTool(base, context.token, sessionId, id, name, args);
  const storedOf = async (streamId: string) =>
    (await context.server.services.log.readStream(messageStream(sessionId)))
      .map((event) => event.data as { streamId: string; seq: number })
      .filter((data) => data.streamId === streamId)
      .map((data) => data.seq);
  const resume = async (lastEventId: string) => {
    const response = await fetch(`${base}/mcp`, {
      headers: { ...headers, accept: 'text/event-stream', 'last-event-id': lastEventId },
    });
    assert.is(response.status, 200, lastEventId);
    return messages(await readSse(response)).map((m) => m.result);
  };

  // A fast call: its response is stored in the turn that made the priming event, so only the response is.
  const fast = await readSse(await post(1, 'echo', { text: 'fast' }));
  const [, fastStream] = fast[0]!.id!.split('/');
  assert.equal(await storedOf(fastStream!), [1]);
  assert.equal(await resume(fast[0]!.id!), [{ content: [{ type: 'text', text: 'fast' }] }]);

  // A slow call: the priming event is stored (behind) while the tool still runs; the client drops after it.
  const [priming] = await readSse(
    await post(2, 'slow_echo', { text: 'slow', delayMs: 400 }),
    (events) => events.length === 1,
  );
  const [, slowStream] = priming!.id!.split('/');
  const until = Date.now() + 300;
  while ((await storedOf(slowStream!)).length === 0 && Date.now() < until)
    await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(await storedOf(slowStream!), [0], 'the priming event is in the log before the response exists');
  assert.equal(await resume(priming!.id!), [{ content: [{ type: 'text', text: 'slow' }] }]);
  assert.equal(await storedOf(slowStream!), [0, 1]);

  // A priming id of a stream this session never had is still refused.
  const forged = await fetch(`${base}/mcp`, {
    headers: { ...headers, accept: 'text/event-stream', 'last-event-id': `${sessionId}/${randomUUID()}/0` },
  });
  assert.is(forged.status, 400);
});

test('forged or foreign event ids are refused (400) and replay nothing', async (context) => {
  const base = context.server.base;
  const mine = await openSession(base, context.token);
  const theirsToken = (await context.tokens.issue({ sub: 'user-b', aud: `${base}/mcp` })).token;
  const theirs = await openSession(base, theirsToken);
  const secret = await callTool(base, theirsToken, theirs, 1, 'echo', { text: 'secret' });
  const theirEvents = await readSse(secret);
  const theirId = theirEvents[0]!.id!;
  const [, theirStream] = theirId.split('/');
  const own = await callTool(base, context.token, mine, 1, 'echo', { text: 'own' });
  const ownId = (await readSse(own))[0]!.id!;
  const [, ownStream, ownRevision] = ownId.split('/');
  const forged = [
    theirId, // another session's real id
    `${mine}/${theirStream}/${ownRevision}`, // my session, another session's stream
    `${mine}/${ownStream}/999999`, // a position that does not exist
    `${mine}/_GET_stream/${ownRevision}`, // a real position, but of another stream
    'garbage',
  ];
  for (const id of forged) {
    const response = await fetch(`${base}/mcp`, {
      headers: { ...sessionHeaders(context.token, mine), accept: 'text/event-stream', 'last-event-id': id },
    });
    assert.is(response.status, 400, id);
    const body = await response.text();
    assert.not.match(body, /secret/);
    assert.match(body, /unknown Last-Event-ID/);
  }
});

test('the standalone GET stream: priming id, live messages, resume after a drop', async (context) => {
  const base = context.server.base;
  const sessionId = await openSession(base, context.token);
  const headers = sessionHeaders(context.token, sessionId);
  const announce = async (text: string) => {
    await (await callTool(base, context.token, sessionId, text, 'announce', { text })).text();
  };
  const stream = await fetch(`${base}/mcp`, { headers: { ...headers, accept: 'text/event-stream' } });
  assert.is(stream.status, 200);
  const second = await fetch(`${base}/mcp`, { headers: { ...headers, accept: 'text/event-stream' } });
  assert.is(second.status, 409);
  const live = readSse(stream, (events) => events.length === 2);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await announce('one');
  const first = await live;
  assert.is(first[0]!.data, '');
  assert.equal(
    messages(first).map((m) => m.params?.data),
    ['announce one'],
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  await announce('two');
  await announce('three');
  const resumed = await fetch(`${base}/mcp`, {
    headers: { ...headers, accept: 'text/event-stream', 'last-event-id': first[1]!.id! },
  });
  const rest = await readSse(resumed, (events) => events.length === 2);
  assert.equal(
    messages(rest).map((m) => m.params?.data),
    ['announce two', 'announce three'],
  );
});

test('retention: message streams carry $maxAge/$maxCount, cleanup removes old messages and closes expired sessions; lifecycle events stay', async (context) => {
  const base = context.server.base;
  const { log, mcp } = context.server.services;
  const sessionId = await openSession(base, context.token);
  assert.equal(await log.getStreamMetadata(messageStream(sessionId)), { maxAgeSeconds: 86_400, maxCount: 40 });
  assert.equal(await log.getStreamMetadata(sessionStream(sessionId)), {});
  const call = await callTool(base, context.token, sessionId, 1, 'count_slowly', { count: 60, delayMs: 0 });
  await call.text();
  await context.server.services.projections.waitFor(await log.headPosition());
  const result = await mcp.cleanup(new Date(Date.now() + 2 * 86_400_000));
  assert.ok(result.removedEvents >= 22, `removed ${result.removedEvents}`);
  assert.ok(result.expiredSessions >= 1);
  const kept = await context.server.services.db.query<{ n: string }>(
    'SELECT count(*)::text AS n FROM events WHERE stream_id = $1',
    [messageStream(sessionId)],
  );
  assert.is(kept.rows[0]!.n, '40');
  assert.equal(
    (await log.readStream(sessionStream(sessionId))).map((event) => event.type),
    ['McpSessionOpened', 'McpSessionClosed'],
  );
  assert.is(((await log.readStream(sessionStream(sessionId)))[1]!.data as { reason: string }).reason, 'expired');
  // The closed session is gone for the client.
  const gone = await fetch(`${base}/mcp`, {
    headers: { ...sessionHeaders(context.token, sessionId), accept: 'text/event-stream' },
  });
  assert.is(gone.status, 404);
});

test.run();
