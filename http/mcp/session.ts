// Shared checks of requests that belong to a session: MCP-Protocol-Version and Mcp-Session-Id.
import type Koa from 'koa';
import type { HttpDeps } from '../deps.ts';
import type { McpCaller, SessionHost } from '../../mcp/index.ts';
import { RPC, rpcError } from '../errors.ts';

type Deps = Pick<HttpDeps, 'mcp'>;

/** Revisions this endpoint speaks (2025-03-26 through 2025-11-25). */
export const PROTOCOL_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26'] as const;

/**
 * MCP 2025-11-25 basic/transports §Protocol Version Header: an invalid or unsupported version → 400.
 * A missing header is taken as 2025-03-26 (the spec's fallback), so it passes.
 */
export const checkProtocolVersion = (ctx: Koa.Context): boolean => {
  const version = ctx.get('mcp-protocol-version');
  if (version && !(PROTOCOL_VERSIONS as readonly string[]).includes(version)) {
    rpcError(
      ctx,
      400,
      RPC.serverError,
      `Bad Request: Unsupported protocol version: ${version.slice(0, 40)} (supported versions: ${PROTOCOL_VERSIONS.join(', ')})`,
    );
    return false;
  }
  return true;
};

/**
 * The caller's session named by Mcp-Session-Id: 400 without the header, 404 when it is unknown,
 * closed, expired — or another user's or client's (we do not reveal that it exists).
 */
export const requireSession = async (
  ctx: Koa.Context,
  services: Deps,
  caller: McpCaller,
): Promise<SessionHost | undefined> => {
  const sessionId = ctx.get('mcp-session-id');
  if (!sessionId) {
    rpcError(ctx, 400, RPC.serverError, 'Bad Request: Mcp-Session-Id header is required');
    return undefined;
  }
  const host = /^[0-9a-f-]{36}$/.test(sessionId) ? await services.mcp.sessions.find(sessionId, caller) : undefined;
  if (!host) rpcError(ctx, 404, RPC.sessionNotFound, 'Session not found');
  return host;
};
