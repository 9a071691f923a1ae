// Prometheus metrics at /metrics (SPEC: no authentication; bind it privately in production if needed).
// HTTP requests by route/status/duration, event-log appends, projection lag, process and event-loop
// metrics; areas add theirs (tool calls, tokens, sessions) to the same registry.
import client from 'prom-client';
import type Koa from 'koa';
import type { Services } from '../app/services.ts';

export type Metrics = {
  registry: client.Registry;
  httpDuration: client.Histogram<'method' | 'route' | 'status'>;
  eventsAppended: client.Counter<'stream_category'>;
};

export const createMetrics = (): Metrics => {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'remotemcp_', eventLoopMonitoringPrecision: 20 });
  return {
    registry,
    httpDuration: new client.Histogram({
      name: 'remotemcp_http_request_duration_seconds',
      help: 'HTTP requests by route template, method and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
    eventsAppended: new client.Counter({
      name: 'remotemcp_events_appended_total',
      help: 'Events appended to the log, by stream category (the stream name before its first dash)',
      labelNames: ['stream_category'],
      registers: [registry],
    }),
  };
};

/** Route label: the matched router path when there is one, else the first path segment (bounded cardinality). */
const routeOf = (ctx: Koa.Context): string => {
  const matched = (ctx as Koa.Context & { _matchedRoute?: string })._matchedRoute;
  if (typeof matched === 'string') return matched;
  const first = ctx.path.split('/')[1] ?? '';
  return /^[\w.-]{1,40}$/.test(first) ? `/${first}` : '/other';
};

export const measureRequests = (metrics: Metrics): Koa.Middleware => async (ctx, next) => {
  const end = metrics.httpDuration.startTimer();
  try {
    await next();
  } finally {
    end({ method: ctx.method, route: routeOf(ctx), status: String(ctx.status) });
  }
};

export const metricsRoute = (services: Services, metrics: Metrics): Koa.Middleware => {
  const lag = new client.Gauge({
    name: 'remotemcp_projection_lag_events',
    help: 'Events a projection has not processed yet (capped at 10000)',
    labelNames: ['projection'],
    registers: [metrics.registry],
    async collect() {
      for (const status of await services.projections.status().catch(() => [])) this.set({ projection: status.name }, status.lagEvents);
    },
  });
  void lag;
  return async (ctx, next) => {
    if (ctx.path !== '/metrics' || ctx.method !== 'GET') return next();
    ctx.set('Cache-Control', 'no-store');
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  };
};
