// Composes the Koa app. Each area (health, oauth, mcp, admin) contributes its router.
import Koa from 'koa';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pug from 'pug';
import type { Services } from '../app/services.ts';
import { errorHandler } from './errors.ts';
import { healthRoutes } from './health.ts';
import helmet from 'koa-helmet';
import { requestContext } from './request.ts';
import { measureRequests, metricsRoute } from './metrics.ts';
import { assetRoutes } from './assets.ts';
import { oauthRoutes } from './oauth/index.ts';
import { mcpRoutes } from './mcp/index.ts';
import { adminRoutes } from './admin/index.ts';

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

export const createApp = (services: Services): Koa => {
  const app = new Koa({ proxy: false });
  // Koa's default would log every error to stderr; ours are logged once, by errorHandler.
  app.silent = true;
  app.use(requestContext(services.logger));
  app.use(measureRequests(services.metrics));
  // Security headers for every response; pages get a strict CSP (no inline script, no third-party
  // origin). form-action is left to the areas: after the OAuth consent POST the browser must follow
  // a redirect to the client's redirect URI, which form-action 'self' would block.
  app.use(
    helmet({
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
      strictTransportSecurity: services.config.publicUrl.startsWith('https:') ? { maxAge: 31_536_000, includeSubDomains: true } : false,
      crossOriginResourcePolicy: { policy: 'same-site' },
    }),
  );
  app.use(async (ctx, next) => {
    ctx.state.render = render;
    ctx.state.services = services;
    await next();
  });
  app.use(errorHandler());
  // The MCP endpoint first: every tool call of every client comes this way, and it answers one exact
  // path, so the routers below need not be matched for it.
  app.use(mcpRoutes(services));
  const health = healthRoutes(services);
  app.use(health.routes()).use(health.allowedMethods());
  app.use(metricsRoute(services, services.metrics));
  app.use(assetRoutes());
  app.use(oauthRoutes(services));
  app.use(adminRoutes(services));
  return app;
};
