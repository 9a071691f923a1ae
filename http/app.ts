// Composes the Koa app. Each area (health, oauth, mcp, admin) contributes its router.
import Koa from 'koa';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pug from 'pug';
import type { Services } from '../app/services.ts';
import { errorHandler } from './errors.ts';
import { healthRoutes } from './health.ts';
import { requestContext } from './request.ts';
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
  app.use(async (ctx, next) => {
    ctx.state.render = render;
    ctx.state.services = services;
    await next();
  });
  app.use(errorHandler());
  const health = healthRoutes(services);
  app.use(health.routes()).use(health.allowedMethods());
  app.use(assetRoutes());
  app.use(oauthRoutes(services));
  app.use(mcpRoutes(services));
  app.use(adminRoutes(services));
  return app;
};
