// Queries on the grants read models (projections/oauth/grants.ts writes them): `oauth_grants`,
// `oauth_access_tokens` and `oauth_consents`, their row types and every read of them.
import { prepared, type Queryable } from '../../db/database.ts';

export type GrantRow = {
  grant_id: string;
  client_id: string;
  user_id: string | null;
  scopes: string[];
  resource: string;
  status: string;
  refresh_expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
};
export type AccessTokenRow = {
  jti: string;
  grant_id: string;
  client_id: string;
  user_id: string | null;
  scopes: string[];
  issued_at: Date;
  expires_at: Date;
  revoked: boolean;
};

const where = (
  filter: { userId?: string; clientId?: string },
  extra: string[] = [],
): { sql: string; params: string[] } => {
  const clauses = [...extra];
  const params: string[] = [];
  if (filter.userId) clauses.push(`user_id = $${params.push(filter.userId)}`);
  if (filter.clientId) clauses.push(`client_id = $${params.push(filter.clientId)}`);
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
};

/** The latest 1000 grants, newest first, of a user and/or a client. */
export const listGrants = async (
  db: Queryable,
  filter: { userId?: string; clientId?: string } = {},
): Promise<GrantRow[]> => {
  const w = where(filter);
  return (await db.query<GrantRow>(`SELECT * FROM oauth_grants ${w.sql} ORDER BY created_at DESC LIMIT 1000`, w.params))
    .rows;
};

/** The latest 1000 access tokens, newest first; `activeOnly`: not revoked and not expired. */
export const listAccessTokens = async (
  db: Queryable,
  filter: { userId?: string; clientId?: string; activeOnly?: boolean } = {},
): Promise<AccessTokenRow[]> => {
  const w = where(filter, filter.activeOnly ? ['NOT revoked', 'expires_at > now()'] : []);
  return (
    await db.query<AccessTokenRow>(
      `SELECT * FROM oauth_access_tokens ${w.sql} ORDER BY issued_at DESC LIMIT 1000`,
      w.params,
    )
  ).rows;
};

export const grantExists = async (db: Queryable, grantId: string): Promise<boolean> =>
  !!(await db.query('SELECT 1 FROM oauth_grants WHERE grant_id = $1', [grantId])).rowCount;

export const activeGrantIdsOfUser = async (db: Queryable, userId: string): Promise<string[]> =>
  (
    await db.query<{ grant_id: string }>(`SELECT grant_id FROM oauth_grants WHERE user_id = $1 AND status = 'active'`, [
      userId,
    ])
  ).rows.map((row) => row.grant_id);

/** Those of `grantIds` that are revoked. */
export const revokedGrantIds = async (db: Queryable, grantIds: readonly string[]): Promise<string[]> =>
  (
    await db.query<{ grant_id: string }>(
      `SELECT grant_id FROM oauth_grants WHERE grant_id = ANY($1) AND status = 'revoked'`,
      [[...grantIds]],
    )
  ).rows.map((row) => row.grant_id);

/** Whether `jti` was issued under `grantId` and has not expired at `now`. */
export const accessTokenOfGrant = async (db: Queryable, jti: string, grantId: string, now: Date): Promise<boolean> =>
  (
    await db.query('SELECT 1 FROM oauth_access_tokens WHERE jti = $1 AND grant_id = $2 AND expires_at > $3', [
      jti,
      grantId,
      now,
    ])
  ).rows.length > 0;

/**
 * Whether the token, its user and its client still stand (prepared: it runs for most /mcp requests).
 * `stale`: the token was issued before its user's last password change or disable (user_credentials).
 */
const STANDING = prepared(`SELECT t.revoked, t.issued_at < c.sessions_valid_after AS stale,
  (SELECT status FROM users WHERE id = $2::uuid) AS user_status,
  (SELECT status FROM oauth_clients WHERE client_id = $3) AS client_status
  FROM (SELECT 1) AS one
  LEFT JOIN oauth_access_tokens t ON t.jti = $1
  LEFT JOIN user_credentials c ON c.user_id = $2::uuid`);

export type AccessTokenStanding = {
  revoked: boolean | null;
  stale: boolean | null;
  user_status: string | null;
  client_status: string | null;
};

/** One row, whatever is missing (a column is NULL when its row is): `userId` must be a UUID or null. */
export const accessTokenStanding = async (
  db: Queryable,
  jti: string,
  userId: string | null,
  clientId: string,
): Promise<AccessTokenStanding | undefined> =>
  (await db.query<AccessTokenStanding>(STANDING, [jti, userId, clientId])).rows[0];

/** Scopes the user already approved for the client; undefined when none were. */
export const consentedScopes = async (db: Queryable, userId: string, clientId: string): Promise<string[] | undefined> =>
  (
    await db.query<{ scopes: string[] }>('SELECT scopes FROM oauth_consents WHERE user_id = $1 AND client_id = $2', [
      userId,
      clientId,
    ])
  ).rows[0]?.scopes;

const count = async (db: Queryable, sql: string): Promise<number> =>
  Number((await db.query<{ n: string }>(sql)).rows[0]?.n ?? 0);

/** Access tokens neither revoked nor expired. */
export const countActiveAccessTokens = (db: Queryable): Promise<number> =>
  count(db, 'SELECT count(*)::text AS n FROM oauth_access_tokens WHERE NOT revoked AND expires_at > now()');

/** Access tokens issued in the last 24 hours. */
export const countAccessTokensIssuedToday = (db: Queryable): Promise<number> =>
  count(db, `SELECT count(*)::text AS n FROM oauth_access_tokens WHERE issued_at > now() - interval '24 hours'`);

export type ClientUsageRow = {
  client_id: string;
  grants: number;
  active_grants: number;
  active_tokens: number;
  last_used: Date | null;
};

/** Per client: grants (all, active), unexpired tokens, and the last token issued or tool call made (tool_calls). */
export const clientUsage = async (db: Queryable): Promise<ClientUsageRow[]> =>
  (
    await db.query<ClientUsageRow>(
      `SELECT g.client_id, g.grants, g.active_grants, coalesce(t.active_tokens, 0)::int AS active_tokens,
            greatest(t.last_issued, c.last_call) AS last_used
       FROM (SELECT client_id, count(*)::int AS grants, (count(*) FILTER (WHERE status <> 'revoked'))::int AS active_grants
               FROM oauth_grants GROUP BY client_id) g
       LEFT JOIN (SELECT client_id, count(*) FILTER (WHERE NOT revoked AND expires_at > now()) AS active_tokens,
                         max(issued_at) AS last_issued
                    FROM oauth_access_tokens GROUP BY client_id) t ON t.client_id = g.client_id
       LEFT JOIN (SELECT client_id, max(at) AS last_call FROM tool_calls GROUP BY client_id) c ON c.client_id = g.client_id`,
    )
  ).rows;
