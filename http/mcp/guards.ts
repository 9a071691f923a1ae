// Request guards of /mcp that run before authentication. MCP 2025-11-25 basic/transports §Security
// Warning: servers MUST validate Origin (DNS rebinding) and SHOULD bind to loopback when local.
import cors from '@koa/cors';
import type Koa from 'koa';
import type { Config } from '../../app/config.ts';
import { sameServer } from '../../app/public-url.ts';
import { HttpError } from '../errors.ts';
import { publicUrlOf } from '../public-url.ts';

/**
 * Browser origins that may call /mcp: this server under each name it answers as (PUBLIC_URL, or the
 * loopback origins of the request's port) and CORS_ORIGINS. The Host header itself is checked for every
 * path by http/public-url.ts, which is also the DNS rebinding guard.
 */
const isAllowedOrigin = (ctx: Koa.Context, config: Config, corsOrigins: ReadonlySet<string>, origin: string) =>
  corsOrigins.has(origin) || sameServer(config, publicUrlOf(ctx)).some((base) => new URL(base).origin === origin);

const corsOriginSet = (config: Config): ReadonlySet<string> =>
  new Set(config.corsOrigins.map((origin) => origin.replace(/\/+$/, '')));

/** A browser page from another origin gets 403; requests without Origin (non-browser clients) pass. */
export const checkOrigin = (config: Config): Koa.Middleware => {
  const corsOrigins = corsOriginSet(config);
  return async (ctx, next) => {
    const origin = ctx.get('origin');
    if (origin && !isAllowedOrigin(ctx, config, corsOrigins, origin))
      throw new HttpError(403, 'forbidden_origin', 'this Origin may not use the MCP endpoint');
    await next();
  };
};

/** CORS for the allowed browser origins, exposing what MCP clients read. */
export const mcpCors = (config: Config): Koa.Middleware => {
  const corsOrigins = corsOriginSet(config);
  return cors({
    origin: (ctx) => {
      const origin = ctx.get('origin');
      return origin && isAllowedOrigin(ctx, config, corsOrigins, origin) ? origin : '';
    },
    allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    allowHeaders: [
      'Authorization',
      'Content-Type',
      'Accept',
      'Mcp-Session-Id',
      'MCP-Protocol-Version',
      'Last-Event-ID',
    ],
    exposeHeaders: ['Mcp-Session-Id', 'MCP-Protocol-Version', 'WWW-Authenticate'],
    maxAge: 600,
  });
};
