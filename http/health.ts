// Liveness and readiness (SPEC: /readyz = database reachable and projections caught up).
import Router from '@koa/router';
import type { Services } from '../app/services.ts';
import { isCaughtUp } from '../projections/runner.ts';

export const healthRoutes = (services: Services) => {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const checks: Record<string, string> = {};
    try {
      await services.db.query('SELECT 1');
      checks.database = 'ok';
    } catch (error) {
      checks.database = `unreachable: ${(error as Error).message}`;
    }
    if (checks.database === 'ok') {
      try {
        const statuses = await services.projections.status();
        const behind = statuses.filter((s) => !isCaughtUp(s));
        checks.projections =
          behind.length === 0 ? 'ok' : behind.map((s) => `${s.name}: ${s.status}, ${s.lagEvents} behind`).join('; ');
      } catch (error) {
        checks.projections = `unknown: ${(error as Error).message}`;
      }
    }
    const ready = Object.values(checks).every((value) => value === 'ok');
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not_ready', checks };
  });
  return router;
};
