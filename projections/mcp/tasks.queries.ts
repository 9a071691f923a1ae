// Queries on the `mcp_tasks` read model (projections/mcp/tasks.ts writes it).
import type { Queryable } from '../../db/database.ts';

/** Working tasks whose lease lapsed before `now`, oldest lease first, at most `limit`. */
export const lapsedTaskIds = async (db: Queryable, now: Date, limit: number): Promise<string[]> =>
  (
    await db.query<{ task_id: string }>(
      `SELECT task_id FROM mcp_tasks WHERE status = 'working' AND lease_until < $1 ORDER BY lease_until LIMIT ${Math.trunc(limit)}`,
      [now],
    )
  ).rows.map((row) => row.task_id);
