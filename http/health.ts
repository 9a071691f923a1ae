// Liveness and readiness: /readyz means the database is reachable and the projections are caught up.
import Router from '@koa/router';
import type { Services } from '../app/services.ts';
import { isCaughtUp } from '../projections/runner.ts';

export type Readiness = { ready: boolean; checks: Record<string, string> };

/** Database reachable and every projection caught up: what /readyz answers and the home page shows. */
export const readiness = async (services: Services): Promise<Readiness> => {
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
  return { ready: Object.values(checks).every((value) => value === 'ok'), checks };
};

export const healthRoutes = (services: Services) => {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const { ready, checks } = await readiness(services);
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not_ready', checks };
  });
  return router;
};
