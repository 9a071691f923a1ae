// /admin/projections: status, position, lag, last error; "rebuild" starts a blue/green rebuild in the
// background and a progress page polls /admin/api/projections/:name/rebuild (events/s, ETA).
import Router from '@koa/router';
import { requestRebuild } from '../../app/operations.ts';
import type { HttpDeps } from '../deps.ts';
import { positionToString } from '../../eventstore/port.ts';
import type { RebuildProgress } from '../../projections/rebuild.ts';
import { requireCsrf } from '../csrf.ts';
import { HttpError } from '../errors.ts';
import { parseForm } from '../forms.ts';
import { adminActor } from './auth.ts';
import { renderPage } from './page.ts';
import { need } from '../state.ts';

type Deps = Pick<HttpDeps, 'log' | 'projections'>;

type RebuildRun = {
  progress: RebuildProgress | undefined;
  done: boolean;
  error: string | undefined;
  startedAt: string;
};

export const projectionsRoutes = (services: Deps) => {
  const router = new Router();
  // The last rebuild started from this process, per projection (the runner forgets finished ones).
  const runs = new Map<string, RebuildRun>();
  const names = () => services.projections.projections.map((p) => p.name);
  const known = (name: string) => {
    if (!names().includes(name)) throw new HttpError(404, 'projection_not_found', `no projection named ${name}`);
    return name;
  };

  router.get('/admin/projections', async (ctx) => {
    const statuses = await services.projections.status();
    renderPage(ctx, 'projections', {
      title: 'Projections',
      section: 'projections',
      projections: statuses.map((s) => ({
        ...s,
        position: positionToString(s.position),
        running: runs.get(s.name)?.done === false || Boolean(s.rebuild && !s.rebuild.done),
      })),
    });
  });

  router.post('/admin/projections/:name/rebuild', parseForm, requireCsrf(), async (ctx) => {
    const name = known(String(ctx.params.name));
    if (runs.get(name)?.done === false)
      throw new HttpError(409, 'rebuild_running', `a rebuild of ${name} is already running`);
    await requestRebuild(services.log, name, names(), {
      actor: adminActor(ctx),
      ...(ctx.state.requestId ? { requestId: ctx.state.requestId } : {}),
    });
    const run: RebuildRun = { progress: undefined, done: false, error: undefined, startedAt: new Date().toISOString() };
    runs.set(name, run);
    const log = need(ctx.state, 'log');
    // In the background: the request returns at once, the progress page polls.
    void services.projections
      .rebuild(name, (progress) => {
        run.progress = progress;
      })
      .then((final) => {
        run.progress = final;
        run.done = true;
      })
      .catch((error: unknown) => {
        run.error = error instanceof Error ? error.message : String(error);
        run.done = true;
        log.error({ projection: name, err: run.error }, 'rebuild from the admin panel failed');
      });
    ctx.status = 303;
    ctx.redirect(`/admin/projections/${encodeURIComponent(name)}/rebuild`);
  });

  router.get('/admin/projections/:name/rebuild', async (ctx) => {
    const name = known(String(ctx.params.name));
    renderPage(ctx, 'rebuild', { title: `Rebuild ${name}`, section: 'projections', name, run: runs.get(name) });
  });

  router.get('/admin/api/projections/:name/rebuild', async (ctx) => {
    const name = known(String(ctx.params.name));
    const run = runs.get(name);
    const status = (await services.projections.status()).find((s) => s.name === name);
    ctx.body = {
      projection: name,
      started: Boolean(run),
      done: run?.done ?? !status?.rebuild,
      error: run?.error,
      progress: run?.progress ?? status?.rebuild,
      status: status?.status,
    };
  });

  return router;
};
