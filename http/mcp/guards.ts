// Request guards of /mcp that run before authentication. MCP 2025-11-25 basic/transports §Security
// Warning: servers MUST validate Origin (DNS rebinding) and SHOULD bind to loopback when local.
import cors from '@koa/cors';
import type Koa from 'koa';
import { isLoopbackUrl, type Config } from '../../app/config.ts';
import { HttpError } from '../errors.ts';

const LOOPBACK_HOST = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

export const allowedOrigins = (config: Config): Set<string> =>
  new Set([new URL(config.publicUrl).origin, ...config.corsOrigins.map((origin) => origin.replace(/\/+$/, ''))]);

const boundToLoopback = (config: Config): boolean =>
  isLoopbackUrl(new URL(`http://${config.host.includes(':') ? `[${config.host}]` : config.host}`));

/** A browser page from another origin gets 403; requests without Origin (non-browser clients) pass. */
export const checkOrigin = (config: Config): Koa.Middleware => {
  const allowed = allowedOrigins(config);
  return async (ctx, next) => {
    const origin = ctx.get('origin');
    if (origin && !allowed.has(origin))
      throw new HttpError(403, 'forbidden_origin', 'this Origin may not use the MCP endpoint');
    await next();
  };
};

/**
 * DNS rebinding: on a loopback-bound server a hostile page may reach us under its own name. The Host
 * header must then be a loopback name or PUBLIC_URL's host.
 */
export const checkHost = (config: Config): Koa.Middleware => {
  if (!boundToLoopback(config)) return async (_ctx, next) => next();
  const publicHost = new URL(config.publicUrl).host.toLowerCase();
  return async (ctx, next) => {
    const host = ctx.get('host').toLowerCase();
    const hostname = host.replace(/:\d+$/, '');
    if (host !== publicHost && !LOOPBACK_HOST.test(hostname))
      throw new HttpError(403, 'forbidden_host', 'this Host may not use the MCP endpoint');
    await next();
  };
};

/** CORS for the allowed browser origins, exposing what MCP clients read. */
export const mcpCors = (config: Config): Koa.Middleware => {
  const allowed = allowedOrigins(config);
  return cors({
    origin: (ctx) => (allowed.has(ctx.get('origin')) ? ctx.get('origin') : ''),
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
