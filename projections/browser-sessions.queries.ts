// Queries on the `browser_sessions` read model (projections/browser-sessions.ts writes it).
import type { Queryable } from '../db/database.ts';
import type { Purpose } from '../domain/browser-sessions/index.ts';

export type BrowserSessionRow = {
  id: string;
  user_id: string;
  purpose: string;
  started_at: Date;
  expires_at: Date;
  ended_at: Date | null;
  ip: string | null;
  user_agent: string | null;
};

/** The session if it is live for `purpose` and its user may still sign in (joins users, user_credentials). */
export const liveBrowserSession = async (
  db: Queryable,
  id: string,
  purpose: Purpose,
): Promise<{ user_id: string; expires_at: Date } | undefined> =>
  (
    await db.query<{ user_id: string; expires_at: Date }>(
      // Also void: a session begun before the user's last password change or disable (the events that
      // end it may not be projected yet), and any session of a service user (it never signs in).
      `SELECT s.user_id, s.expires_at FROM browser_sessions s JOIN users u ON u.id = s.user_id
          LEFT JOIN user_credentials c ON c.user_id = s.user_id
          WHERE s.id = $1 AND s.purpose = $2 AND s.ended_at IS NULL AND s.expires_at > now() AND u.status = 'active'
            AND NOT ('service' = ANY (u.roles)) AND (c.sessions_valid_after IS NULL OR s.started_at >= c.sessions_valid_after)`,
      [id, purpose],
    )
  ).rows[0];

/** Ids of the user's sessions not ended and not expired at `now`. */
export const liveBrowserSessionIdsOfUser = async (db: Queryable, userId: string, now: Date): Promise<string[]> =>
  (
    await db.query<{ id: string }>(
      `SELECT id FROM browser_sessions WHERE user_id = $1::uuid AND ended_at IS NULL AND expires_at > $2`,
      [userId, now],
    )
  ).rows.map((row) => row.id);

/** The latest sign-ins, newest first (the admin panel). */
export const recentBrowserSessions = async (db: Queryable): Promise<BrowserSessionRow[]> =>
  (await db.query<BrowserSessionRow>('SELECT * FROM browser_sessions ORDER BY started_at DESC LIMIT 100')).rows;

export const browserSessionExists = async (db: Queryable, id: string): Promise<boolean> =>
  !!(await db.query('SELECT 1 FROM browser_sessions WHERE id = $1', [id])).rowCount;
