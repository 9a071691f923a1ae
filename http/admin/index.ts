// HTTP routes of the admin panel (/admin/…): security headers, sign-in, then the guarded pages.
import type Router from '@koa/router';
import type Koa from 'koa';
import { adminAuth } from './auth.ts';
import { dashboardRoutes } from './dashboard.ts';
import { usersRoutes } from './users.ts';
import { projectionsRoutes } from './projections.ts';
import { logsRoutes } from './logs.ts';
import { auditRoutes } from './audit.ts';
import { areaRoutes } from './areas.ts';
import { clientsRoutes } from './clients.ts';
import { sessionsRoutes } from './sessions.ts';
import { tokensRoutes } from './tokens.ts';
import { toolsRoutes } from './tools.ts';
import { adminHeaders, formErrors } from './page.ts';

/** The panel takes what its pages take. */
type Deps = Parameters<typeof adminAuth>[0] &
  Parameters<typeof dashboardRoutes>[0] &
  Parameters<typeof usersRoutes>[0] &
  Parameters<typeof projectionsRoutes>[0] &
  Parameters<typeof logsRoutes>[0] &
  Parameters<typeof auditRoutes>[0] &
  Parameters<typeof clientsRoutes>[0] &
  Parameters<typeof tokensRoutes>[0] &
  Parameters<typeof sessionsRoutes>[0] &
  Parameters<typeof toolsRoutes>[0] &
  Parameters<typeof areaRoutes>[0];

/** A router's dispatcher as a plain Koa middleware (the router adds `params` itself). */
const asMiddleware =
  (routes: ReturnType<Router['routes']>): Koa.Middleware =>
  (ctx, next) =>
    routes(ctx as Parameters<typeof routes>[0], next);

const ADMIN_PATH = /^\/admin(\/|$)/;

export const adminRoutes = (services: Deps): Koa.Middleware => {
  const auth = adminAuth(services);
  const pages = [
    dashboardRoutes(services),
    usersRoutes(services),
    projectionsRoutes(services),
    logsRoutes(services),
    auditRoutes(services),
    clientsRoutes(services),
    tokensRoutes(services),
    sessionsRoutes(services),
    toolsRoutes(services),
    areaRoutes(services),
  ];
  // Each page router in turn; a request no router matches falls through to the app's 404.
  const chained = pages
    .map((router) => asMiddleware(router.routes()))
    .reduceRight<Koa.Middleware>(
      (after, routes) => (ctx, next) => routes(ctx, () => after(ctx, next)),
      (_ctx, next) => next(),
    );
  const guarded: Koa.Middleware = (ctx, next) => auth.requireAdmin(ctx, () => chained(ctx, next));
  const login = asMiddleware(auth.routes);
  return async (ctx, next) => {
    if (!ADMIN_PATH.test(ctx.path)) return next();
    await adminHeaders(ctx, () =>
      formErrors(ctx, async () => {
        if (ctx.path === '/admin/login' || ctx.path === '/admin/logout') return login(ctx, next);
        return guarded(ctx, next);
      }),
    );
  };
};
