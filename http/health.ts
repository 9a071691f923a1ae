// Liveness and readiness: /readyz means the database is reachable, the projections are caught up, and
// resources are not exhausted (a load balancer should stop sending traffic to an instance that would fail it).
import Router from '@koa/router';
import { descriptorUse } from '../app/file-descriptors.ts';
import type { HttpDeps } from './deps.ts';
import { isCaughtUp } from '../projections/runner.ts';

type Deps = Pick<HttpDeps, 'db' | 'oauth' | 'projections'>;

/** Not ready once this share of the open-file limit is in use (new connections would soon fail). */
const DESCRIPTORS_READY_FRACTION = 0.9;
/** Every outbound fetch slot busy for longer than this is saturation, not a burst. */
const SATURATED_MS = 1_000;

const resourceChecks = async (services: Deps): Promise<Record<string, string>> => {
  const checks: Record<string, string> = {};
  const fds = await descriptorUse();
  if (fds === 'exhausted') checks.file_descriptors = 'no file descriptor left';
  else if (fds)
    checks.file_descriptors =
      fds.open < fds.limit * DESCRIPTORS_READY_FRACTION
        ? 'ok'
        : `${fds.open} of ${fds.limit} open file descriptors in use`;
  const fetches = services.oauth.clients.documents.load();
  checks.outbound_fetches =
    fetches.saturatedForMs <= SATURATED_MS
      ? 'ok'
      : `all ${fetches.max} client metadata document fetch slots busy for ${Math.round(fetches.saturatedForMs / 1_000)} s`;
  return checks;
};

export type Readiness = { ready: boolean; checks: Record<string, string> };

/** Database reachable, projections caught up, resources not exhausted: /readyz and the home page. */
export const readiness = async (services: Deps): Promise<Readiness> => {
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
  Object.assign(checks, await resourceChecks(services));
  return { ready: Object.values(checks).every((value) => value === 'ok'), checks };
};

export const healthRoutes = (services: Deps) => {
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
