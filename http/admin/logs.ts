// /admin/logs: recent structured log lines from the in-process ring (pino levels), filtered by level.
import Router from '@koa/router';
import type { HttpDeps } from '../deps.ts';
import { renderPage } from './page.ts';

type Deps = Pick<HttpDeps, 'logRing'>;

// pino's numeric levels.
const LEVELS = [
  { name: 'trace', value: 10, badge: 'text-bg-light' },
  { name: 'debug', value: 20, badge: 'text-bg-secondary' },
  { name: 'info', value: 30, badge: 'text-bg-info' },
  { name: 'warn', value: 40, badge: 'text-bg-warning' },
  { name: 'error', value: 50, badge: 'text-bg-danger' },
  { name: 'fatal', value: 60, badge: 'text-bg-dark' },
] as const;

const levelOf = (value: number) => [...LEVELS].reverse().find((level) => value >= level.value) ?? LEVELS[0];

export const logsRoutes = (services: Deps) => {
  const router = new Router();
  router.get('/admin/logs', (ctx) => {
    const chosen = LEVELS.find((level) => level.name === ctx.query.level) ?? LEVELS[2];
    const lines = (services.logRing?.recent(chosen.value, 300) ?? []).reverse().map((line) => {
      const { time, level, msg, ...rest } = line;
      const info = levelOf(Number(level ?? 0));
      return {
        time: String(time ?? ''),
        levelName: info.name,
        badge: info.badge,
        msg: String(msg ?? ''),
        details: JSON.stringify(rest),
      };
    });
    renderPage(ctx, 'logs', {
      title: 'Logs',
      section: 'logs',
      levels: LEVELS,
      level: chosen.name,
      lines,
      available: Boolean(services.logRing),
    });
  });
  return router;
};
