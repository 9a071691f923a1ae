// Read model `oauth_refresh_tokens`: every refresh token a grant issued (its SHA-256), until it expires.
// The grant's state keeps only its newest tokens (domain/grants/state.ts REFRESH_WINDOW); an older one
// presented again is found here, so reuse detection (RFC 9700 §4.14.2) holds for the token's whole
// lifetime without a list that grows with every rotation.
import { GrantEvent } from '../../domain/grants/index.ts';
import type { Queryable } from '../../db/database.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { sqlPerTables, type Projection, type Statement, type Tables } from '../sql.ts';

// Per set of tables (see sqlPerTables): a rebuild keys its rounds by these.
const insertRefreshTokenSql = sqlPerTables(
  (t) =>
    `INSERT INTO ${t.oauth_refresh_tokens} (refresh_hash, grant_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT (refresh_hash) DO NOTHING`,
);
const dropExpiredRefreshSql = sqlPerTables(
  (t) => `DELETE FROM ${t.oauth_refresh_tokens} WHERE grant_id = $1 AND expires_at <= $2`,
);

export const refreshTokensProjection: Projection = {
  name: 'oauth_refresh_tokens',
  version: 1,
  tables: {
    oauth_refresh_tokens: `CREATE TABLE {oauth_refresh_tokens} (
      refresh_hash text PRIMARY KEY,
      grant_id     text NOT NULL,
      expires_at   timestamptz NOT NULL
    );
    CREATE INDEX {oauth_refresh_tokens}_grant ON {oauth_refresh_tokens} (grant_id, expires_at)`,
  },
  eventTypes: ['AuthorizationCodeRedeemed', 'RefreshTokenRotated'],
  // The DELETE of expired tokens finds them by grant: a rebuild without the index would scan the table.
  rebuildNeedsIndexes: true,
  toStatements(recorded: RecordedEvent, t: Tables): Statement[] {
    const event = GrantEvent.parse(recorded);
    if (event.type !== 'AuthorizationCodeRedeemed' && event.type !== 'RefreshTokenRotated') return [];
    const { grantId, tokens, at } = event.data;
    if (!tokens.refreshHash || !tokens.refreshExpiresAt) return [];
    return [
      {
        sql: insertRefreshTokenSql(t),
        params: [tokens.refreshHash, grantId, tokens.refreshExpiresAt],
        // Keyed by grant, as the DELETE below is: a refresh token's hash belongs to the one grant that issued it.
        batch: { key: grantId, types: ['text', 'text', 'timestamptz'] },
      },
      // A token past its lifetime is refused as expired, reused or not: its row is no longer needed.
      {
        sql: dropExpiredRefreshSql(t),
        params: [grantId, at],
        batch: { key: grantId, types: ['text', 'timestamptz'] },
      },
    ];
  },
};

/** A refresh token `grantId` issued and that has not expired by `now`, if the read model has it. */
export const earlierRefreshToken = async (
  db: Queryable,
  grantId: string,
  refreshHash: string,
  now: Date,
): Promise<{ expiresAt: string } | undefined> => {
  const result = await db.query<{ expires_at: Date }>(
    'SELECT expires_at FROM oauth_refresh_tokens WHERE refresh_hash = $1 AND grant_id = $2 AND expires_at > $3',
    [refreshHash, grantId, now],
  );
  const row = result.rows[0];
  return row ? { expiresAt: row.expires_at.toISOString() } : undefined;
};
