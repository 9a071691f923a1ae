// MCP 2026-07-28 `subscriptions/listen`: a stream held open by a token. When the token or its grant is
// revoked on any instance, the stream here is cut (the event-log bus hears of it: mcp/modern/event-bus.ts),
// so a revoked grant stops receiving notifications at once, not when the client next reconnects.
import type Koa from 'koa';
import { grantIdOfTokenId } from '../../app/oauth/tokens.ts';
import type { HttpDeps } from '../deps.ts';
import type { McpCaller } from '../../mcp/index.ts';

type Deps = Pick<HttpDeps, 'mcp'>;

const isListen = (body: unknown): boolean =>
  typeof body === 'object' && body !== null && (body as { method?: unknown }).method === 'subscriptions/listen';

/** Registers a listen request's stream with the bus for as long as it is served; returns the release. */
export const watchListen = (ctx: Koa.Context, services: Deps, caller: McpCaller, body: unknown): (() => void) => {
  if (!isListen(body)) return () => undefined;
  const tokenId = caller.tokenId;
  return services.mcp.bus.trackListen(
    {
      grantId: tokenId ? grantIdOfTokenId(tokenId) : undefined,
      tokenId,
      userId: caller.userId,
      clientId: caller.clientId,
    },
    // Destroyed, not ended: the SDK still writes to the response until it sees the close, and a write
    // after end() would be an error; the client sees the stream drop and its next request gets 401.
    () => ctx.res.destroy(),
  );
};
