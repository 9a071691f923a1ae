// JSON-RPC error answers for /mcp (SPEC: JSON-RPC errors for bad JSON-RPC; 404 for unknown sessions),
// and the bridge from the SDK transport's web Response to Koa.
import { Readable } from 'node:stream';
import type Koa from 'koa';

/** JSON-RPC 2.0 §5.1 codes; -32000/-32001 are the SDK's server-defined ones (generic, session not found). */
export const RPC = { parseError: -32700, invalidRequest: -32600, serverError: -32000, sessionNotFound: -32001 } as const;

export const rpcError = (ctx: Koa.Context, status: number, code: number, message: string, headers: Record<string, string> = {}): void => {
  ctx.status = status;
  ctx.set(headers);
  ctx.type = 'application/json';
  ctx.body = { jsonrpc: '2.0', error: { code, message }, id: null };
};

/** The request as the SDK transport wants it: a web Request (the body is passed separately, already parsed). */
export const toWebRequest = (ctx: Koa.Context, publicUrl: string, overrides: Record<string, string> = {}): Request => {
  const headers = new Headers();
  for (const [name, value] of Object.entries(ctx.req.headers)) {
    if (value === undefined) continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  for (const [name, value] of Object.entries(overrides)) headers.set(name, value);
  return new Request(`${publicUrl}${ctx.url}`, { method: ctx.method, headers });
};

/** Copies a web Response into Koa; SSE bodies stream (a client disconnect cancels the web stream). */
export const sendWebResponse = async (ctx: Koa.Context, response: Response): Promise<void> => {
  ctx.status = response.status;
  response.headers.forEach((value, name) => {
    if (name !== 'content-length') ctx.set(name, value);
  });
  const type = response.headers.get('content-type') ?? '';
  if (response.body && type.startsWith('text/event-stream')) {
    ctx.body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
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
