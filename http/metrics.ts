// Prometheus metrics at /metrics (no authentication; bind it privately in production if needed).
// HTTP requests by route/status/duration, event-log appends, projection lag, process and event-loop
// metrics; areas add theirs (tool calls, tokens, sessions) to the same registry.
import client from 'prom-client';
import type Koa from 'koa';
import type { EventEmitter } from 'node:events';
import type { Metrics } from '../app/metrics.ts';
import type { Database } from '../db/database.ts';
import type { ProjectionRunner } from '../projections/runner.ts';
import { countOpenMcpSessions } from '../projections/mcp/sessions.queries.ts';

export type { Metrics } from '../app/metrics.ts';

/** What /metrics reads besides its registry: projection lag, the sessions read model, this process's appends. */
export type MetricsSources = {
  readonly projections: Pick<ProjectionRunner, 'status'>;
  readonly db: Database;
  readonly appends: EventEmitter;
};

// Label values must come from a fixed set, or every request an anonymous caller invents adds series
// to /metrics for good (Prometheus naming practices: "do not use labels to store unbounded values").
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Paths served by middleware rather than a router: their own fixed label. */
const UNROUTED: [RegExp, string][] = [
  [/^\/mcp\/?$/, '/mcp'],
  [/^\/metrics$/, '/metrics'],
  [/^\/assets\//, '/assets'],
];

/** Route label: the matched router template, a fixed label for the few unrouted paths, else "unmatched". */
export const routeOf = (ctx: Koa.Context): string => {
  const matched = (ctx as Koa.Context & { _matchedRoute?: string })._matchedRoute;
  if (typeof matched === 'string') return matched;
  for (const [pattern, label] of UNROUTED) if (pattern.test(ctx.path)) return label;
  return 'unmatched';
};

export const measureRequests =
  (metrics: Metrics): Koa.Middleware =>
  async (ctx, next) => {
    const end = metrics.httpDuration.startTimer();
    try {
      await next();
    } finally {
      end({
        method: METHODS.has(ctx.method) ? ctx.method : 'other',
        route: routeOf(ctx),
        status: String(ctx.status),
      });
    }
  };

export const metricsRoute = (services: MetricsSources, metrics: Metrics): Koa.Middleware => {
  const lag = new client.Gauge({
    name: 'remotemcp_projection_lag_events',
    help: 'Events a projection has not processed yet (capped at 10000)',
    labelNames: ['projection'],
    registers: [metrics.registry],
    async collect() {
      for (const status of await services.projections.status().catch(() => []))
        this.set({ projection: status.name }, status.lagEvents);
    },
  });
  void lag;
  new client.Gauge({
    name: 'remotemcp_mcp_sessions_active',
    help: 'MCP sessions open and not expired (all instances, from the read model)',
    registers: [metrics.registry],
    async collect() {
      const count = await countOpenMcpSessions(services.db).catch(() => undefined);
      if (count !== undefined) this.set(count);
    },
  });
  // Counters of what this instance did, from its own appends (Prometheus sums instances).
  const toolCalls = new client.Counter({
    name: 'remotemcp_tool_calls_total',
    help: 'Tool calls by tool and outcome',
    labelNames: ['tool', 'outcome'],
    registers: [metrics.registry],
  });
  const toolSeconds = new client.Histogram({
    name: 'remotemcp_tool_call_duration_seconds',
    help: 'Tool call duration by tool',
    labelNames: ['tool'],
    buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10],
    registers: [metrics.registry],
  });
  const tokensIssued = new client.Counter({
    name: 'remotemcp_tokens_issued_total',
    help: 'Access tokens issued, by grant type',
    labelNames: ['grant_type'],
    registers: [metrics.registry],
  });
  const tokensRevoked = new client.Counter({
    name: 'remotemcp_tokens_revoked_total',
    help: 'Revocations, by kind (access token or whole grant)',
    labelNames: ['kind'],
    registers: [metrics.registry],
  });
  const ISSUED: Record<string, string> = {
    AuthorizationCodeRedeemed: 'authorization_code',
    RefreshTokenRotated: 'refresh_token',
    ClientCredentialsIssued: 'client_credentials',
  };
  services.appends.on('append', (_stream: string, events: readonly { type: string; data: unknown }[]) => {
    for (const event of events) {
      if (event.type === 'ToolCalled') {
        const data = event.data as { tool: string; outcome: string; durationMs: number };
        toolCalls.inc({ tool: data.tool, outcome: data.outcome });
        toolSeconds.observe({ tool: data.tool }, data.durationMs / 1_000);
        continue;
      }
      const grantType = ISSUED[event.type];
      if (grantType) tokensIssued.inc({ grant_type: grantType });
      else if (event.type === 'AccessTokenRevoked') tokensRevoked.inc({ kind: 'access_token' });
      else if (event.type === 'GrantRevoked') tokensRevoked.inc({ kind: 'grant' });
    }
  });
  return async (ctx, next) => {
    if (ctx.path !== '/metrics' || ctx.method !== 'GET') return next();
    ctx.set('Cache-Control', 'no-store');
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  };
};
