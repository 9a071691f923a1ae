// Queries on the `tool_calls` read model (toolCallsProjection in projections/tools/settings.ts).
import type { Queryable } from '../../db/database.ts';

export type ToolUsageRow = {
  tool: string;
  calls: number;
  errors: number;
  denied: number;
  avg_ms: number;
  p95_ms: number;
  last_at: Date | null;
};

/** Per tool over the last 24 hours: calls, errors, refusals, mean and p95 duration, last call. */
export const toolUsageToday = async (db: Queryable): Promise<ToolUsageRow[]> =>
  (
    await db.query<ToolUsageRow>(
      `SELECT tool, count(*)::int AS calls, (count(*) FILTER (WHERE outcome = 'error'))::int AS errors,
                (count(*) FILTER (WHERE outcome IN ('denied', 'disabled')))::int AS denied,
                round(avg(duration_ms)::numeric, 1)::float8 AS avg_ms,
                round((percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms))::numeric, 1)::float8 AS p95_ms, max(at) AS last_at
           FROM tool_calls WHERE at > now() - interval '24 hours' GROUP BY tool`,
    )
  ).rows;

const count = async (db: Queryable, sql: string): Promise<number> =>
  Number((await db.query<{ n: string }>(sql)).rows[0]?.n ?? 0);

/** Tool calls in the last 24 hours. */
export const countToolCallsToday = (db: Queryable): Promise<number> =>
  count(db, `SELECT count(*)::text AS n FROM tool_calls WHERE at > now() - interval '24 hours'`);

/** Tool calls in the last 24 hours that did not do their work. */
export const countFailedToolCallsToday = (db: Queryable): Promise<number> =>
  count(
    db,
    // A tool that failed, was refused for scope or is disabled: each is a call that did not do its work.
    `SELECT count(*)::text AS n FROM tool_calls WHERE at > now() - interval '24 hours' AND outcome <> 'ok'`,
  );

export type StatelessCallRow = {
  grant_id: string;
  user_id: string;
  client_id: string;
  last_call: Date;
  calls: string;
};

/**
 * Calls without a session since `since`, by grant (token ids are `<grantId>.<random>`), latest first:
 * the modern path's (and durable tasks').
 */
export const statelessCallsByGrant = async (db: Queryable, since: Date, limit: number): Promise<StatelessCallRow[]> =>
  (
    await db.query<StatelessCallRow>(
      `SELECT split_part(token_id, '.', 1) AS grant_id, user_id, client_id, max(at) AS last_call, count(*)::text AS calls
       FROM tool_calls WHERE session_id IS NULL AND token_id LIKE '%.%' AND at > $1
      GROUP BY 1, 2, 3 ORDER BY last_call DESC LIMIT $2`,
      [since, limit],
    )
  ).rows;
