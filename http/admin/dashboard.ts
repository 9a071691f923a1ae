// /admin: the dashboard page (charts filled by /assets/app/admin-dashboard.js) and its JSON feed.
import Router from '@koa/router';
import type { HttpDeps } from '../deps.ts';
import { positionToString } from '../../eventstore/port.ts';
import { renderPage } from './page.ts';
import { areaCounts, eventActivity, logActivity, logSize, startLoopMonitor, systemResources } from './stats.ts';

type Deps = Pick<HttpDeps, 'config' | 'db' | 'log' | 'logRing' | 'mcp' | 'projections' | 'users'>;

export const dashboardRoutes = (services: Deps) => {
  const router = new Router();
  startLoopMonitor();

  router.get('/admin', async (ctx) => {
    const [size, projections, users, counts] = await Promise.all([
      logSize(services),
      services.projections.status(),
      services.users.list(),
      areaCounts(services),
    ]);
    renderPage(ctx, 'dashboard', {
      title: 'Dashboard',
      section: 'dashboard',
      size,
      counts,
      users: { total: users.length, active: users.filter((u) => u.status === 'active').length },
      projections: projections.map((p) => ({
        name: p.name,
        status: p.status,
        lagEvents: p.lagEvents,
        lagSeconds: Math.round(p.lagSeconds),
      })),
    });
  });

  router.get('/admin/api/stats', async (ctx) => {
    const [events, size, system, projections] = await Promise.all([
      eventActivity(services),
      logSize(services),
      systemResources(services.config.dataDir),
      services.projections.status(),
    ]);
    ctx.body = {
      events,
      log: logActivity(services.logRing),
      size,
      system,
      projections: projections.map((p) => ({
        name: p.name,
        status: p.status,
        position: positionToString(p.position),
        lagEvents: p.lagEvents,
        lagSeconds: p.lagSeconds,
      })),
    };
  });

  return router;
};
