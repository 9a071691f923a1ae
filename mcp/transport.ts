// The server side of MCP Streamable HTTP for one session, as an SDK `Transport` (MCP 2025-11-25
// basic/transports). The SDK's own server transport works on Fetch Requests and Responses and a web
// ReadableStream per POST; ours takes the POST's parsed messages and writes SSE text to an `SseSink`
// (http/mcp/sse.ts writes it to the socket), so a call costs no web-stream machinery. GET and DELETE
// are served by the HTTP layer from the event log (http/mcp/stream.ts), not here.
//
// What it does, with the sections that require it:
// - a POST with requests answers on its own SSE stream and ends it once every request of the POST has
//   its response (§Sending Messages to the Server, items 5–6);
// - a POST of only notifications or responses is answered 202 by the caller (§Sending Messages, item 4);
// - every message sent on a stream is stored first (the session's `McpResumption`), and written with
//   its event id (§Resumability and Redelivery); a client that went away misses nothing it can resume.
//   The one exception is the response that ends the stream of a request that changes nothing (`readsOnly`:
//   a read-only tool, a list): it is written and the stream ended while its append is on its way, so the
//   client does not wait for a commit it only needs if it never got the response;
// - for 2025-11-25 clients a stream opens with a priming event (an id, `retry:`, empty data) and a tool
//   may close it early (`closeSSEStream`) to make the client poll with Last-Event-ID (SEP-1699);
// - a server-initiated message unrelated to any request goes to the standalone stream, which is only
//   stored: GET streams follow the log (§Listening for Messages from the Server).
import { randomUUID } from 'node:crypto';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { JSONRPCMessage, JSONRPCRequest, MessageExtraInfo, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { STANDALONE_STREAM, type McpResumption } from './resumption.ts';

/** Where a request stream's SSE text goes (the HTTP response, or nowhere while a session is rebuilt). */
export interface SseSink {
  write(text: string): void;
  end(): void;
  /** Called once if the client goes away before `end`. */
  onClose(listener: () => void): void;
}

/** Priming events need empty SSE data, which clients before 2025-11-25 cannot handle (SDK behaviour). */
const PRIMING_SINCE = '2025-11-25';

type RequestStream = {
  readonly sink: SseSink;
  /** Requests of the POST still without a response. */
  readonly pending: Set<RequestId>;
  /** Requests of the POST that change nothing: a response that ends the stream is stored behind it. */
  readonly readOnly: ReadonlySet<RequestId>;
  /** The client holds an event id of this stream (priming or message), so it can resume it. */
  resumable: boolean;
  open: boolean;
};

// The kind of a message already known to be JSON-RPC (the client's were checked against the SDK's
// JSONRPCMessageSchema, the server's come from the SDK) follows from its members (JSON-RPC 2.0 §4, §5);
// the SDK's own guards run a schema each time, several times per message.
export const isRequest = (message: JSONRPCMessage): message is JSONRPCRequest => 'method' in message && 'id' in message;
export const isResponse = (message: JSONRPCMessage): message is JSONRPCMessage & { id: RequestId } =>
  'id' in message && ('result' in message || 'error' in message);

/**
 * The SDK Protocol's own handler of each kind of message, which its `onmessage` picks with up to three
 * zod safeParses per message (a request fails two first: ~8 µs). Ours were checked against
 * JSONRPCMessageSchema before dispatch (http/mcp/post.ts), so their members tell the kind (isRequest).
 */
type ProtocolRoutes = {
  _onrequest(message: JSONRPCRequest, extra?: MessageExtraInfo): void;
  _onresponse(message: JSONRPCMessage): void;
  _onnotification(message: JSONRPCMessage): void;
};

const hasRoutes = (protocol: unknown): protocol is ProtocolRoutes => {
  const routes = protocol as Partial<Record<keyof ProtocolRoutes, unknown>> | undefined;
  return (
    typeof routes?._onrequest === 'function' &&
    typeof routes._onresponse === 'function' &&
    typeof routes._onnotification === 'function'
  );
};

const sseEvent = (eventId: string, data: string): string => `event: message\nid: ${eventId}\ndata: ${data}\n\n`;

export class SessionTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  private readonly streams = new Map<string, RequestStream>();
  /** Request id → the stream its messages go to (kept after the client left, for storing). */
  private readonly streamOf = new Map<RequestId, string>();
  private closed = false;
  /** Set by routeTo once the SDK server is connected; until then (or without it) `onmessage`. */
  private routes: ProtocolRoutes | undefined;

  constructor(
    readonly sessionId: string,
    private readonly store: McpResumption,
    private readonly retryMs: number,
    /** Whether a request changes nothing (no effect, no state): its last response need not wait for its commit. */
    private readonly readsOnly: (request: JSONRPCRequest) => boolean = () => false,
  ) {}

  async start(): Promise<void> {}

  /**
   * Hands later messages straight to the connected SDK server's handlers by kind (see ProtocolRoutes).
   * Call after `server.connect(this)`; an SDK without those methods keeps its `onmessage`.
   */
  routeTo(protocol: unknown): void {
    if (hasRoutes(protocol)) this.routes = protocol;
  }

  /** What the SDK's onmessage does with a checked message, without finding its kind by schema. */
  private deliver(message: JSONRPCMessage, extra: MessageExtraInfo): void {
    const routes = this.routes;
    if (!routes) this.onmessage?.(message, extra);
    else if (isResponse(message)) routes._onresponse(message);
    else if (isRequest(message)) routes._onrequest(message, extra);
    else routes._onnotification(message);
  }

  /**
   * Hands a POST's messages to the SDK server. With requests among them, the answers go to `sink` as
   * one SSE stream; the caller has already answered 202 when there are none. `protocolVersion` is the
   * session's negotiated revision (or the initialize request's).
   */
  async dispatch(
    messages: JSONRPCMessage[],
    protocolVersion: string,
    sink: SseSink | undefined,
    authInfo?: AuthInfo,
    headers: Record<string, string> = {},
  ): Promise<void> {
    const extra = { ...(authInfo ? { authInfo } : {}), requestInfo: { headers } };
    const requests = messages.filter(isRequest);
    if (!sink || requests.length === 0) {
      for (const message of messages) this.deliver(message, extra);
      return;
    }
    const streamId = randomUUID();
    const stream: RequestStream = {
      sink,
      pending: new Set(requests.map((request) => request.id)),
      readOnly: new Set(requests.filter(this.readsOnly).map((request) => request.id)),
      resumable: false,
      open: true,
    };
    this.streams.set(streamId, stream);
    for (const request of requests) this.streamOf.set(request.id, streamId);
    sink.onClose(() => this.release(streamId, stream));
    const resumable = protocolVersion >= PRIMING_SINCE;
    if (resumable) {
      const primingId = await this.store.storeEvent(streamId, {} as JSONRPCMessage);
      if (stream.open) {
        sink.write(`id: ${primingId}\nretry: ${this.retryMs}\ndata: \n\n`);
        stream.resumable = true;
      }
    }
    for (const message of messages) {
      const closeSSEStream = resumable && isRequest(message) ? () => this.closeStream(message.id) : undefined;
      this.deliver(message, closeSSEStream ? { ...extra, closeSSEStream } : extra);
    }
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const requestId = isResponse(message) ? message.id : options?.relatedRequestId;
    if (requestId === undefined) {
      // Unrelated to a request: the standalone stream. GET streams (any instance) follow the log.
      if (isResponse(message))
        throw new Error('Cannot send a response on a standalone SSE stream unless resuming a previous client request');
      await this.store.storeEvent(STANDALONE_STREAM, message);
      return;
    }
    const streamId = this.streamOf.get(requestId);
    if (!streamId) throw new Error(`No connection established for request ID: ${String(requestId)}`);
    // Encoded once: measured for storing (mcp/replay-bound.ts) and written as is.
    const data = JSON.stringify(message);
    const open = this.streams.get(streamId);
    const endsReadOnly =
      open?.open === true &&
      open.readOnly.has(requestId) &&
      isResponse(message) &&
      open.pending.size === 1 &&
      open.pending.has(requestId);
    // Stored before it is written, even when the client has gone: it can resume the stream. A read-only
    // request's last response goes out with its append under way (see the header).
    const eventId = endsReadOnly
      ? this.store.storeBehind(streamId, message, data)
      : await this.store.storeEvent(streamId, message, data);
    const stream = endsReadOnly ? open : this.streams.get(streamId);
    if (stream?.open) {
      stream.sink.write(sseEvent(eventId, data));
      stream.resumable = true;
    }
    if (!isResponse(message)) return;
    this.streamOf.delete(requestId);
    if (!stream) return;
    stream.pending.delete(requestId);
    // §Sending Messages item 6: the stream ends once every request of its POST is answered.
    if (stream.pending.size === 0) this.endStream(streamId, stream);
  }

  /** Whether a request of the session is still running (its response not yet sent). */
  get busy(): boolean {
    return this.streamOf.size > 0;
  }

  /** Whether a request stream is still being answered on its POST here (its client reads it). */
  isOpen(streamId: string): boolean {
    return this.streams.get(streamId)?.open ?? false;
  }

  /** SEP-1699: ends a request's stream early; the client resumes it with Last-Event-ID (GET). */
  private closeStream(requestId: RequestId): void {
    const streamId = this.streamOf.get(requestId);
    const stream = streamId ? this.streams.get(streamId) : undefined;
    if (streamId && stream) this.endStream(streamId, stream);
  }

  private endStream(streamId: string, stream: RequestStream): void {
    this.streams.delete(streamId);
    if (!stream.open) return;
    stream.open = false;
    stream.sink.end();
  }

  /** The client went away: later messages of the stream are only stored (if it could resume, it will). */
  private release(streamId: string, stream: RequestStream): void {
    if (!stream.open) return;
    stream.open = false;
    this.streams.delete(streamId);
    if (stream.resumable) return;
    // Without an event id the client cannot come back for them: forget its requests.
    for (const id of stream.pending) this.streamOf.delete(id);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [streamId, stream] of this.streams) this.endStream(streamId, stream);
    this.streamOf.clear();
    this.onclose?.();
  }
}
