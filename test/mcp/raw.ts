// Raw HTTP helpers for /mcp tests that need to control the wire (drops, ids, headers).
import { messageStream } from '../../domain/sessions/index.ts';
import type { TestServer } from '../support/server.ts';

export const sessionHeaders = (token: string, sessionId: string): Record<string, string> => ({
  authorization: `Bearer ${token}`,
  'mcp-session-id': sessionId,
  'mcp-protocol-version': '2025-11-25',
});

/**
 * POSTs one JSON-RPC message to an MCP endpoint, accepting JSON or SSE as the Streamable HTTP
 * transport requires of a client (MCP 2025-11-25, Transports: Sending Messages to the Server).
 */
export const postRpc = (url: string, message: unknown, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(message),
  });

/** POST tools/call in a session; the (SSE) response is the caller's to read, or to drop. */
export const callTool = (
  base: string,
  token: string,
  sessionId: string,
  id: number | string,
  name: string,
  args: Record<string, unknown>,
): Promise<Response> =>
  postRpc(
    `${base}/mcp`,
    { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } },
    sessionHeaders(token, sessionId),
  );

/** initialize + notifications/initialized; returns the session id. */
export const openSession = async (base: string, token: string): Promise<string> => {
  const init = await initialize(base, token);
  if (init.status !== 200) throw new Error(`initialize: ${init.status} ${await init.text()}`);
  await init.text();
  const sessionId = init.headers.get('mcp-session-id')!;
  const done = await postRpc(
    `${base}/mcp`,
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    sessionHeaders(token, sessionId),
  );
  if (done.status !== 202) throw new Error(`initialized: ${done.status}`);
  return sessionId;
};

/** Waits until the response to request `id` is stored in the session's message stream. */
export const waitForResponse = async (
  server: TestServer,
  sessionId: string,
  id: number,
  timeoutMs = 5_000,
): Promise<void> => {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const events = await server.services.log.readStream(messageStream(sessionId));
    if (
      events.some(
        (event) =>
          (event.data as { message?: { id?: unknown; result?: unknown } }).message?.id === id &&
          'result' in (event.data as { message: object }).message,
      )
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no response to ${id} within ${timeoutMs} ms`);
};

/** A raw `initialize` (the response is the caller's to check: 200, or a refusal). */
export const initialize = (
  base: string,
  token: string,
  protocolVersion = '2025-11-25',
  clientName = 'raw',
): Promise<Response> =>
  postRpc(
    `${base}/mcp`,
    {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion, capabilities: {}, clientInfo: { name: clientName, version: '1' } },
    },
    { authorization: `Bearer ${token}` },
  );

/** GET /mcp: the standalone stream, or a resumption when `lastEventId` is given. */
export const getStream = (
  base: string,
  token: string,
  sessionId: string,
  lastEventId?: string,
  signal?: AbortSignal,
): Promise<Response> =>
  fetch(`${base}/mcp`, {
    headers: {
      ...sessionHeaders(token, sessionId),
      accept: 'text/event-stream',
      ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
    },
    ...(signal ? { signal } : {}),
  });

/** An SSE response read event by event while it stays open (readSse reads to the end or cancels). */
export const openReader = (response: Response) => {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  return {
    /** The next event that has an id or data (comments skipped): its id and data. */
    async next(): Promise<{ id: string | undefined; data: string }> {
      for (;;) {
        const cut = buffer.indexOf('\n\n');
        if (cut >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const id = /^id: (.*)$/m.exec(block)?.[1];
          const data = /^data: ?(.*)$/m.exec(block)?.[1];
          if (id !== undefined || data !== undefined) return { id, data: data ?? '' };
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buffer += value;
      }
    },
    close: () => reader.cancel(),
  };
};
