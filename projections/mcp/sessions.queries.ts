// Queries on the `mcp_sessions` read model (mcpSessionsProjection in projections/mcp/index.ts writes it).
import type { Queryable } from '../../db/database.ts';

export type McpSessionRow = {
  id: string;
  user_id: string;
  client_id: string;
  protocol_version: string;
  client_name: string;
  client_version: string;
  status: string;
  opened_at: Date;
  expires_at: Date;
  closed_at: Date | null;
  close_reason: string | null;
};

/** The latest sessions, newest first (the admin panel). */
export const recentMcpSessions = async (db: Queryable): Promise<McpSessionRow[]> =>
  (await db.query<McpSessionRow>('SELECT * FROM mcp_sessions ORDER BY opened_at DESC LIMIT 100')).rows;

export const mcpSessionExists = async (db: Queryable, id: string): Promise<boolean> =>
  !!(await db.query('SELECT 1 FROM mcp_sessions WHERE id = $1', [id])).rowCount;

/** Ids of the user's open sessions, expired or not (an erasure closes them all). */
export const openSessionIdsOfUser = async (db: Queryable, userId: string): Promise<string[]> =>
  (
    await db.query<{ id: string }>(`SELECT id FROM mcp_sessions WHERE user_id = $1 AND status = 'open'`, [userId])
  ).rows.map((row) => row.id);

/**
 * The user's open, unexpired sessions with the token each was opened with. `token_id` is read through
 * to_jsonb so the query also runs on a read model built before the column existed (during the
 * blue/green rebuild after an upgrade), where it simply counts no token's sessions.
 */
export const liveSessionsOfUser = async (
  db: Queryable,
  userId: string,
  now: Date,
): Promise<{ id: string; token_id: string | null; expires_at: Date }[]> =>
  (
    await db.query<{ id: string; token_id: string | null; expires_at: Date }>(
      `SELECT id, to_jsonb(s) ->> 'token_id' AS token_id, expires_at FROM mcp_sessions s
        WHERE user_id = $1 AND status = 'open' AND expires_at > $2`,
      [userId, now],
    )
  ).rows;

/** Open, unexpired sessions, most recently opened first, at most `limit`. */
export const openMcpSessions = async (
  db: Queryable,
  now: Date,
  limit: number,
): Promise<{ id: string; opened_at: Date; expires_at: Date }[]> =>
  (
    await db.query<{ id: string; opened_at: Date; expires_at: Date }>(
      `SELECT id, opened_at, expires_at FROM mcp_sessions WHERE status = 'open' AND expires_at > $1
      ORDER BY opened_at DESC LIMIT $2`,
      [now, limit],
    )
  ).rows;

/** Open sessions whose expiry has passed, oldest expiry first, 500 at a time. */
export const expiredOpenSessionIds = async (db: Queryable, now: Date): Promise<string[]> =>
  (
    await db.query<{ id: string }>(
      `SELECT id FROM mcp_sessions WHERE status = 'open' AND expires_at <= $1 ORDER BY expires_at LIMIT 500`,
      [now],
    )
  ).rows.map((row) => row.id);

/** How many sessions are open and unexpired (text: count(*) is a bigint). */
export const countOpenMcpSessions = async (db: Queryable): Promise<number | undefined> => {
  const row = (
    await db.query<{ count: string }>(
      `SELECT count(*)::text AS count FROM mcp_sessions WHERE status = 'open' AND expires_at > now()`,
    )
  ).rows[0];
  return row ? Number(row.count) : undefined;
};
