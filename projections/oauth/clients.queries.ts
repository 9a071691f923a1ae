// Queries on the `oauth_clients` read model (projections/oauth/clients.ts writes it).
import type { Queryable } from '../../db/database.ts';

export type ClientRow = {
  client_id: string;
  client_name: string;
  redirect_uris: string[];
  grant_types: string[];
  auth_method: string;
  application_type: string;
  scope: string | null;
  source: string;
  status: string;
  resource_server: boolean;
  created_at: Date;
  updated_at: Date;
};

/** Active clients, oldest first. */
export const listActiveClients = async (db: Queryable): Promise<ClientRow[]> =>
  (await db.query<ClientRow>(`SELECT * FROM oauth_clients WHERE status = 'active' ORDER BY created_at, client_id`))
    .rows;

/**
 * Dynamically registered public clients created before `cutoff` with no grant used since then and no
 * refresh token still valid at `now` (joins oauth_grants); at most 1000.
 */
export const idlePublicClientIds = async (db: Queryable, cutoff: Date, now: Date): Promise<string[]> =>
  (
    await db.query<{ client_id: string }>(
      `SELECT c.client_id FROM oauth_clients c
        WHERE c.status = 'active' AND c.source = 'dynamic' AND c.auth_method = 'none' AND c.created_at < $1
          AND NOT EXISTS (SELECT 1 FROM oauth_grants g WHERE g.client_id = c.client_id
                            AND (g.updated_at >= $1 OR (g.status = 'active' AND g.refresh_expires_at > $2)))
        LIMIT 1000`,
      [cutoff, now],
    )
  ).rows.map((row) => row.client_id);

/** Client names by id (deleted clients too: old events and sessions still name them). */
export const clientNames = async (db: Queryable): Promise<Map<string, string>> => {
  const { rows } = await db.query<{ client_id: string; client_name: string }>(
    'SELECT client_id, client_name FROM oauth_clients',
  );
  return new Map(rows.map((row) => [row.client_id, row.client_name]));
};
