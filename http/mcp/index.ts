// HTTP routes of the mcp area: /mcp and /mcp/ (MCP Streamable HTTP). Pipeline per request:
// [checkOrigin, cors, authenticate, dispatch by method] (the Host was checked by http/public-url.ts).
import compose from 'koa-compose';
import type Koa from 'koa';
import type { HttpDeps } from '../deps.ts';
import { authenticate } from './auth.ts';
import { checkOrigin, mcpCors } from './guards.ts';
import { handlePost } from './post.ts';
import { jsonRpcErrors, RPC, rpcError } from '../errors.ts';
import { requireSession } from './session.ts';
import { handleGet } from './stream.ts';
import { need } from '../state.ts';

type Deps = Pick<HttpDeps, 'config' | 'groupCommit' | 'logger' | 'mcp' | 'rateLimits'>;

const noStore: Koa.Middleware = async (ctx, next) => {
  ctx.set('Cache-Control', 'no-store');
  await next();
};

/** DELETE /mcp: the client ends its session (MCP 2025-11-25 basic/transports §Session Management). */
const handleDelete =
  (services: Deps): Koa.Middleware =>
  async (ctx) => {
    const caller = need(ctx.state, 'caller');
    const host = await requireSession(ctx, services, caller);
    if (!host) return;
    await services.mcp.sessions.end(host, caller);
    // Koa turns a null body into 204; the SDK and clients expect 200 with no content.
    ctx.body = null;
    ctx.status = 200;
  };

/** The endpoint's paths (/mcp, and /mcp/ for clients that add the slash). */
export const isMcpPath = (path: string): boolean => path === '/mcp' || path === '/mcp/';

export const mcpRoutes = (services: Deps): Koa.Middleware => {
  const { config } = services;
  const post = handlePost(services);
  const get = handleGet(services);
  const del = handleDelete(services);
  const pipeline = compose([
    noStore,
    jsonRpcErrors,
    checkOrigin(config),
    mcpCors(config),
    authenticate(services),
    async (ctx: Koa.Context) => {
      if (ctx.method === 'POST') return post(ctx, async () => undefined);
      if (ctx.method === 'GET') return get(ctx, async () => undefined);
      if (ctx.method === 'DELETE') return del(ctx, async () => undefined);
      return rpcError(ctx, 405, RPC.serverError, 'Method not allowed.', { Allow: 'GET, POST, DELETE' });
    },
  ]);
  return async (ctx, next) => {
    if (!isMcpPath(ctx.path)) return next();
    await pipeline(ctx, async () => undefined);
  };
};
