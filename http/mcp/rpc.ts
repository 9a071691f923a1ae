// JSON-RPC error answers for /mcp (SPEC: JSON-RPC errors for bad JSON-RPC; 404 for unknown sessions),
// and the bridge from the SDK transport's web Response to Koa.
import type { ServerResponse } from 'node:http';
import type Koa from 'koa';

/** JSON-RPC 2.0 §5.1 codes; -32000/-32001 are the SDK's server-defined ones (generic, session not found). */
export const RPC = { parseError: -32700, invalidRequest: -32600, serverError: -32000, sessionNotFound: -32001 } as const;

export const rpcError = (ctx: Koa.Context, status: number, code: number, message: string, headers: Record<string, string> = {}): void => {
  ctx.status = status;
  ctx.set(headers);
  ctx.type = 'application/json';
  ctx.body = { jsonrpc: '2.0', error: { code, message }, id: null };
};

/**
 * Headers the SDK transport reads. Only these are handed over: the bearer token and cookies have no
 * business inside the SDK or a tool handler.
 */
const FORWARDED = ['accept', 'content-type', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id'] as const;

/**
 * What the SDK's web-standard transport reads of a Fetch Request on POST: `method`, `url`,
 * `headers.get()` and `headers.entries()` (the body comes parsed, as `parsedBody`). A real Request
 * costs an AbortSignal, URL parsing and a WebIDL check of every header on each call; this costs a Map.
 * (The e2e, conformance and SDK-client tests exercise it against the pinned SDK version.)
 */
class SdkRequest {
  readonly headers: { get(name: string): string | null; entries(): IterableIterator<[string, string]> };
  constructor(
    readonly method: string,
    readonly url: string,
    headers: Map<string, string>,
  ) {
    this.headers = { get: (name) => headers.get(name.toLowerCase()) ?? null, entries: () => headers.entries() };
  }
}

/** The request as the SDK transport wants it (see SdkRequest). */
export const toWebRequest = (ctx: Koa.Context, publicUrl: string, overrides: Record<string, string> = {}): Request => {
  const headers = new Map<string, string>();
  for (const name of FORWARDED) {
    const value = ctx.req.headers[name];
    if (typeof value === 'string') headers.set(name, value);
  }
  for (const [name, value] of Object.entries(overrides)) headers.set(name, value);
  return new SdkRequest(ctx.method, `${publicUrl}${ctx.url}`, headers) as unknown as Request;
};

/** Copies a web Response into Koa; SSE bodies stream (a client disconnect cancels the web stream). */
export const sendWebResponse = async (ctx: Koa.Context, response: Response): Promise<void> => {
  ctx.status = response.status;
  response.headers.forEach((value, name) => {
    if (name !== 'content-length') ctx.set(name, value);
  });
  const type = response.headers.get('content-type') ?? '';
  if (response.body && type.startsWith('text/event-stream')) {
    // The stream is pumped straight into the socket (not through Readable.fromWeb and Koa's pipeline,
    // which cost an AbortController and a DOMException per response). Koa's headers are already set.
    ctx.respond = false;
    void pump(ctx.res, response.body);
    return;
  }
  const text = await response.text();
  if (text.length > 0) {
    ctx.body = text;
    ctx.type = type || 'application/json';
  } else {
    // 202 Accepted and friends: no body (but not Koa's default 404 for an unset body).
    ctx.body = null;
    ctx.status = response.status;
  }
};

/**
 * How long the start of an SSE response may wait for the rest. A request stream that completes within it
 * (priming event, response, end) leaves in one write with a Content-Length instead of three chunked
 * writes; a longer one is flushed at this point and streams as usual.
 */
const COALESCE_MS = 20;

/** Copies a web stream into the response; a client that goes away cancels the stream (and so the SDK's). */
const pump = async (res: ServerResponse, body: ReadableStream<Uint8Array>): Promise<void> => {
  const reader = body.getReader();
  const cancel = () => void reader.cancel().catch(() => undefined);
  res.once('close', cancel);
  let timer: NodeJS.Timeout | undefined;
  try {
    const held: Uint8Array[] = [];
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), COALESCE_MS)));
    let pending = reader.read();
    for (;;) {
      const next = await Promise.race([pending, late]);
      if (next === 'late') break;
      if (next.done) {
        res.end(Buffer.concat(held));
        return;
      }
      held.push(next.value);
      pending = reader.read();
    }
    res.write(Buffer.concat(held));
    for (;;) {
      const { done, value } = await pending;
      if (done) break;
      if (!res.write(value)) await new Promise((resolve) => res.once('drain', resolve));
      pending = reader.read();
    }
    res.end();
  } catch {
    res.destroy();
  } finally {
    clearTimeout(timer);
    res.off('close', cancel);
  }
};
