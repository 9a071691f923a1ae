// A POST's SSE answer (MCP 2025-11-25 basic/transports §Sending Messages: `Content-Type:
// text/event-stream`), written straight to the socket. Koa has set the response's headers (CORS,
// security, request id) and is told not to respond itself.
import type Koa from 'koa';
import type { SseSink } from '../../mcp/transport.ts';

/**
 * How long the start of a stream may wait for the rest. A request stream that completes within it
 * (priming event, response) leaves in one write with a Content-Length instead of chunked writes; a
 * longer one is flushed at this point and streams as usual.
 */
const COALESCE_MS = 20;
/** Comment lines on a long-running stream, so proxies do not time it out (the SDK's default period). */
export const KEEP_ALIVE_MS = 15_000;

export class SseResponse implements SseSink {
  private held: string[] | undefined = [];
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  private readonly res: Koa.Context['res'];

  constructor(ctx: Koa.Context, sessionId: string) {
    ctx.status = 200;
    ctx.set({
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache, no-transform',
      'X-Accel-Buffering': 'no',
      'Mcp-Session-Id': sessionId,
    });
    ctx.respond = false;
    this.res = ctx.res;
    // Flushed after the window even with nothing to say yet: the headers go out and keep-alives start.
    this.timer = setTimeout(() => this.flush(), COALESCE_MS);
  }

  write(text: string): void {
    if (this.ended) return;
    if (this.held) {
      this.held.push(text);
      return;
    }
    this.res.write(text);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    if (this.held) {
      const body = this.held.join('');
      this.held = undefined;
      this.res.setHeader('Content-Length', Buffer.byteLength(body));
      this.res.end(body);
      return;
    }
    this.res.end();
  }

  onClose(listener: () => void): void {
    // 'close' also follows a normal end; only an early one means the client went away.
    this.res.once('close', () => {
      clearTimeout(this.timer);
      if (this.ended) return;
      this.ended = true;
      listener();
    });
  }

  private flush(): void {
    if (this.ended || !this.held) return;
    const text = this.held.join('');
    this.held = undefined;
    if (text) this.res.write(text);
    else this.res.flushHeaders();
    this.timer = setInterval(() => this.res.write(': keepalive\n\n'), KEEP_ALIVE_MS);
    this.timer.unref();
  }
}
