// Composes the Koa app. Each area (health, oauth, mcp, admin) contributes its router.
import Koa from 'koa';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pug from 'pug';
import type { HttpDeps } from './deps.ts';
import { errorHandler, jsonRpcErrors } from './errors.ts';
import { healthRoutes } from './health.ts';
import helmet from 'koa-helmet';
import { requestContext } from './request.ts';
import { trustedProxies } from './proxy.ts';
import { measureRequests, metricsRoute } from './metrics.ts';
import { assetRoutes } from './assets.ts';
import { oauthRoutes } from './oauth/index.ts';
import { isMcpPath, mcpRoutes } from './mcp/index.ts';
import { adminRoutes } from './admin/index.ts';
import { homeRoutes } from './home.ts';
import { resolvePublicUrl } from './public-url.ts';

const VIEWS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'views');
const templates = new Map<string, pug.compileTemplate>();

/** Renders views/<name>.pug (compiled once, cached). */
export const render = (name: string, locals: Record<string, unknown> = {}): string => {
  let template = templates.get(name);
  if (!template) {
    template = pug.compileFile(path.join(VIEWS, `${name}.pug`));
    templates.set(name, template);
  }
  return template(locals);
};

/** OAuth endpoints that programs call and no browser renders (RFC 6749 §3.2, RFC 7009, RFC 7662). */
const BACK_CHANNEL = new Set(['/oauth/token', '/oauth/revoke', '/oauth/introspect']);

const hsts = { maxAge: 31_536_000, includeSubDomains: true };

export const createApp = (services: HttpDeps): Koa => {
  // proxy stays off: X-Forwarded-* count only from TRUSTED_PROXIES (http/proxy.ts), never from anyone.
  const app = new Koa({ proxy: false });
  // Koa's default would log every error to stderr; ours are logged once, by errorHandler.
  app.silent = true;
  app.use(trustedProxies(services.config));
  app.use(requestContext(services.logger));
  app.use(measureRequests(services.metrics));
  // Security headers. Pages get helmet's full set with a strict CSP (no inline script, no third-party
  // origin); form-action is left to the areas: after the OAuth consent POST the browser must follow a
  // redirect to the client's redirect URI, which form-action 'self' would block.
  const pageHeaders = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
      },
    },
    strictTransportSecurity: services.config.publicUrl.startsWith('https:') ? hsts : false,
    crossOriginResourcePolicy: { policy: 'same-site' },
  });
  // /mcp answers JSON and SSE to programs, every tool call of every client, and the OAuth back channel
  // (token, revocation, introspection) answers JSON to programs only: the headers that matter for an API
  // response (OWASP REST Security Cheat Sheet §Security Headers) instead of a page's dozen.
  const apiHeaders: Record<string, string> = {
    'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    ...(services.config.publicUrl.startsWith('https:')
      ? { 'Strict-Transport-Security': `max-age=${hsts.maxAge}; includeSubDomains` }
      : {}),
  };
  app.use(async (ctx, next) => {
    if (!isMcpPath(ctx.path) && !BACK_CHANNEL.has(ctx.path)) return pageHeaders(ctx, next);
    ctx.set(apiHeaders);
    return next();
  });
  const site = { config: services.config, secret: services.secret };
  app.use(async (ctx, next) => {
    ctx.state.render = render;
    ctx.state.site = site;
    await next();
  });
  app.use(errorHandler());
  // /mcp answers in JSON-RPC alone, its Host check included.
  app.use(async (ctx, next) => (isMcpPath(ctx.path) ? jsonRpcErrors(ctx, next) : next()));
  app.use(resolvePublicUrl(services.config));
  const oauth = oauthRoutes(services);
  // The token endpoint answers one exact path: tried before the routers below need match it (see there).
  app.use(oauth.token);
  // The MCP endpoint first: every tool call of every client comes this way, and it answers one exact
  // path, so the routers below need not be matched for it.
  app.use(mcpRoutes(services));
  const health = healthRoutes(services);
  app.use(health.routes()).use(health.allowedMethods());
  app.use(metricsRoute(services, services.metrics));
  app.use(assetRoutes());
  app.use(oauth.routes);
  app.use(adminRoutes(services));
  app.use(homeRoutes(services).routes());
  return app;
};
