// GET /mcp: the session's SSE stream, served from the event log rather than the SDK's in-memory one, so
// messages stored by any instance reach the client wherever it is attached (no sticky sessions).
// - without Last-Event-ID: the standalone stream (MCP 2025-11-25 basic/transports §Listening), opened
//   with a priming event (an id, `retry:`, empty data) so a dropped client can resume;
// - with Last-Event-ID: replays exactly the messages of that id's stream after it, then continues live
//   (§Resumability and Redelivery). Ids of other sessions, unknown positions or another stream's
//   position are refused (400) — a replay never leaks another stream's messages.
// One reader per stream (mcp/streams.ts): a second standalone stream, or a second reader of a request
// stream, is 409 whether or not it sends Last-Event-ID; more open streams than the session's cap → 429.
import { PassThrough } from 'node:stream';
import type Koa from 'koa';
import type { HttpDeps } from '../deps.ts';
import { STANDALONE_STREAM, parseEventId, type Cursor, type StoredMessage } from '../../mcp/resumption.ts';
import { RETRY_MS } from '../../mcp/sessions.ts';
import { isResponse } from '../../mcp/transport.ts';
import { RPC, rpcError } from '../errors.ts';
import { KEEP_ALIVE_MS } from './sse.ts';
import { checkProtocolVersion, requireSession } from './session.ts';
import { need } from '../state.ts';

type Deps = Pick<HttpDeps, 'config' | 'mcp'>;

export const handleGet =
  (services: Deps): Koa.Middleware =>
  async (ctx) => {
    const caller = need(ctx.state, 'caller');
    if (!ctx.get('accept').includes('text/event-stream')) {
      return rpcError(ctx, 406, RPC.serverError, 'Not Acceptable: Client must accept text/event-stream');
    }
    if (!checkProtocolVersion(ctx)) return;
    const host = await requireSession(ctx, services, caller);
    if (!host) return;
    const lastEventId = ctx.get('last-event-id');
    let streamId = STANDALONE_STREAM;
    let cursor: Cursor | undefined;
    if (lastEventId) {
      cursor = await host.resumption.locate(lastEventId);
      if (!cursor) return rpcError(ctx, 400, RPC.serverError, 'Bad Request: unknown Last-Event-ID for this session');
      streamId = cursor.streamId;
    }
    const standalone = streamId === STANDALONE_STREAM;
    // (Claimed after every await above: two GETs racing for a stream cannot both pass.) A request stream
    // whose POST is still answering here has its reader already.
    const release = host.transport.isOpen(streamId)
      ? 'duplicate'
      : services.mcp.streams.claim(host.sessionId, streamId);
    if (release === 'duplicate')
      return rpcError(
        ctx,
        409,
        RPC.serverError,
        standalone
          ? 'Conflict: Only one SSE stream is allowed per session'
          : 'Conflict: this stream is already being resumed on another connection',
      );
    if (release === 'full')
      return rpcError(
        ctx,
        429,
        RPC.serverError,
        `Too Many Requests: at most ${services.config.mcpMaxStreamsPerSession} SSE streams may be open per session`,
        { 'Retry-After': String(Math.ceil(RETRY_MS / 1_000)) },
      );
    const releaseSlot: () => void = release;

    const out = new PassThrough();
    let last = cursor?.order ?? -1n;
    let replaying = true;
    const buffered: StoredMessage[] = [];
    const deliver = (stored: StoredMessage) => {
      if (stored.streamId !== streamId || stored.order <= last || out.writableEnded) return;
      last = stored.order;
      if (!stored.message) return;
      out.write(`event: message\nid: ${stored.eventId}\ndata: ${JSON.stringify(stored.message)}\n\n`);
      // A request's stream ends with its response (§Sending Messages: the server closes it then).
      if (!standalone && isResponse(stored.message)) finish();
    };
    const unlisten = services.mcp.feed.listen(host.sessionId, {
      onMessage: (stored) => (replaying ? buffered.push(stored) : deliver(stored)),
      onClosed: () => finish(),
    });
    const keepAlive = setInterval(() => out.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    keepAlive.unref();
    let finished = false;
    function finish() {
      if (finished) return;
      finished = true;
      unlisten();
      clearInterval(keepAlive);
      releaseSlot();
      out.end();
    }
    ctx.req.on('close', finish);

    ctx.status = 200;
    ctx.set({
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache, no-transform',
      'X-Accel-Buffering': 'no',
      'Mcp-Session-Id': host.sessionId,
    });
    ctx.body = out;
    if (!cursor) {
      const primingId = await host.resumption.storeEvent(STANDALONE_STREAM, {} as never);
      last = parseEventId(primingId)?.order ?? last;
      out.write(`id: ${primingId}\nretry: ${RETRY_MS}\ndata: \n\n`);
    } else {
      out.write(`retry: ${RETRY_MS}\n: resumed\n\n`);
      // Since 2025-06-18 a POST carries one request (no batches): once it is answered the stream is done.
      if (!standalone && cursor.answered && host.protocolVersion >= '2025-06-18') finish();
      else await host.resumption.forEachAfter(cursor, async (stored) => deliver(stored));
    }
    replaying = false;
    for (const stored of buffered.splice(0)) deliver(stored);
  };
