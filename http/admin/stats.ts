// Numbers for the dashboard: event-log activity (PostgreSQL log: straight from the `events` table),
// log-ring errors and requests, live system resources, projection lag.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import si from 'systeminformation';
import type { HttpDeps } from '../deps.ts';
import type { LogRing } from '../../app/logger.ts';
import type { AuditSource } from './audit-query.ts';
import { countLiveSessions } from '../../mcp/activity.ts';
import { clientNames as clientNamesById } from '../../projections/oauth/clients.queries.ts';
import { countActiveAccessTokens, countAccessTokensIssuedToday } from '../../projections/oauth/grants.queries.ts';
import { countFailedToolCallsToday, countToolCallsToday } from '../../projections/tools/calls.queries.ts';

type Deps = Pick<HttpDeps, 'db' | 'log' | 'logRing' | 'mcp'>;

export const WINDOW_MINUTES = 60;

type Series = { minutes: string[]; byType: Record<string, number[]> };

const minuteKey = (date: Date) => date.toISOString().slice(0, 16);

const emptyMinutes = (now: Date): string[] =>
  Array.from({ length: WINDOW_MINUTES }, (_, i) =>
    minuteKey(new Date(now.getTime() - (WINDOW_MINUTES - 1 - i) * 60_000)),
  );

let loopDelay: IntervalHistogram | undefined;
/** Samples the event-loop delay from start-up on (perf_hooks; resolution 20 ms; one per process). */
export const startLoopMonitor = (): void => {
  if (loopDelay) return;
  loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
};
/** Event-loop delay since the last read. */
const eventLoopLag = () => {
  startLoopMonitor();
  if (!loopDelay) return { meanMs: 0, p99Ms: 0, maxMs: 0 };
  const result = {
    meanMs: loopDelay.mean / 1e6 || 0,
    p99Ms: loopDelay.percentile(99) / 1e6 || 0,
    maxMs: loopDelay.max / 1e6 || 0,
  };
  loopDelay.reset();
  return result;
};

let systemCache: { at: number; value: Promise<Record<string, unknown>> } | undefined;

export const systemResources = (dataDir: string): Promise<Record<string, unknown>> => {
  // systeminformation samples take ~0.5 s: share one sample between dashboards refreshing together.
  if (systemCache && Date.now() - systemCache.at < 2_000) return systemCache.value;
  const value = (async () => {
    const [load, mem, disks] = await Promise.all([si.currentLoad(), si.mem(), si.fsSize().catch(() => [])]);
    const disk =
      disks.filter((d) => dataDir.startsWith(d.mount)).sort((a, b) => b.mount.length - a.mount.length)[0] ?? disks[0];
    return {
      cpuPercent: Math.round(load.currentLoad * 10) / 10,
      memory: {
        usedBytes: mem.active,
        totalBytes: mem.total,
        percent: Math.round((mem.active / mem.total) * 1_000) / 10,
      },
      disk: disk
        ? { mount: disk.mount, usedBytes: disk.used, totalBytes: disk.size, percent: Math.round(disk.use * 10) / 10 }
        : undefined,
      process: { rssBytes: process.memoryUsage().rss, uptimeSeconds: Math.round(process.uptime()) },
      eventLoop: eventLoopLag(),
    };
  })();
  systemCache = { at: Date.now(), value };
  return value;
};

/** Events per minute by type over the last hour (undefined when the log is not in PostgreSQL). */
export const eventActivity = async ({ log, db }: AuditSource, now = new Date()): Promise<Series | undefined> => {
  if (log.kind !== 'postgres' || !db) return undefined;
  const minutes = emptyMinutes(now);
  const rows = (
    await db.query<{ minute: Date; event_type: string; n: string }>(
      `SELECT date_trunc('minute', created_at) AS minute, event_type, count(*)::text AS n FROM events
        WHERE created_at > $1 GROUP BY 1, 2`,
      [new Date(now.getTime() - WINDOW_MINUTES * 60_000)],
    )
  ).rows;
  const byType: Record<string, number[]> = {};
  for (const row of rows) {
    const index = minutes.indexOf(minuteKey(row.minute));
    if (index < 0) continue;
    (byType[row.event_type] ??= minutes.map(() => 0))[index]! += Number(row.n);
  }
  return { minutes, byType };
};

/** Requests and errors per minute from the in-process log ring (undefined when there is none). */
export const logActivity = (logRing: LogRing | undefined, now = new Date()) => {
  if (!logRing) return undefined;
  const minutes = emptyMinutes(now);
  const requests = minutes.map(() => 0);
  /** 5xx answers and error-level log lines. */
  const errors = minutes.map(() => 0);
  /** 4xx answers: refused tokens, scopes, forms, unknown sessions — what clients get wrong. */
  const clientErrors = minutes.map(() => 0);
  for (const line of logRing.recent(0, 10_000)) {
    const index = typeof line.time === 'string' ? minutes.indexOf(line.time.slice(0, 16)) : -1;
    if (index < 0) continue;
    const status = line.msg === 'request' ? Number(line.status) : 0;
    if (line.msg === 'request') requests[index]! += 1;
    if (Number(line.level) >= 50 || status >= 500) errors[index]! += 1;
    else if (status >= 400) clientErrors[index]! += 1;
  }
  return { minutes, requests, errors, clientErrors };
};

/** 4xx and 5xx answers the in-process log ring still holds (undefined when there is none). */
const httpErrorCount = async (services: Deps): Promise<number | undefined> => {
  if (!services.logRing) return undefined;
  let count = 0;
  for (const line of services.logRing.recent(0, 10_000))
    if (line.msg === 'request' && Number(line.status) >= 400) count += 1;
  return count;
};

/** Size and growth of the event log. */
export const logSize = async ({ log, db }: AuditSource) => {
  if (log.kind !== 'postgres' || !db) return { kind: log.kind };
  const row = (
    await db.query<{ total: string; bytes: string; hour: string; day: string }>(
      `SELECT (SELECT count(*) FROM events)::text AS total,
              pg_total_relation_size('events')::text AS bytes,
              (SELECT count(*) FROM events WHERE created_at > now() - interval '1 hour')::text AS hour,
              (SELECT count(*) FROM events WHERE created_at > now() - interval '1 day')::text AS day`,
    )
  ).rows[0]!;
  return {
    kind: log.kind,
    events: Number(row.total),
    bytes: Number(row.bytes),
    lastHour: Number(row.hour),
    lastDay: Number(row.day),
  };
};

/** Client names by id (deleted clients too: old events and sessions still name them). */
export const clientNames = (services: Deps): Promise<Map<string, string>> => clientNamesById(services.db);

/** Counters from the other areas' read models (httpErrors: undefined without a log ring). */
export const areaCounts = async (services: Deps) => {
  const [toolCalls, toolErrors, mcpSessions, activeTokens, tokensIssued, httpErrors] = await Promise.all([
    countToolCallsToday(services.db),
    countFailedToolCallsToday(services.db),
    // Live by the Sessions page's rule (mcp/activity.ts), not merely open.
    countLiveSessions(services, services.mcp.sessions),
    countActiveAccessTokens(services.db),
    countAccessTokensIssuedToday(services.db),
    httpErrorCount(services),
  ]);
  return { toolCalls, toolErrors, mcpSessions, activeTokens, tokensIssued, httpErrors };
};
