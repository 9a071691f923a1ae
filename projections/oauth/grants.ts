// Read models of grants: `oauth_grants` (who authorized which client, for listing and revocation),
// `oauth_access_tokens` (every issued access token id; the verifier refuses revoked ones) and
// `oauth_consents` (remembered consent per user + client: the scopes already approved).
import { GrantEvent, type IssuedTokens } from '../../domain/grants/index.ts';
import { assertNever } from '../../domain/shared.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { sqlPerTables, type Projection, type Statement, type Tables } from '../sql.ts';

const TYPES = [
  'ConsentGiven',
  'AuthorizationCodeRedeemed',
  'RefreshTokenRotated',
  'ClientCredentialsIssued',
  'AccessTokenRevoked',
  'GrantRevoked',
];

// Per set of tables (see sqlPerTables): a rebuild keys its rounds by these.
const insertAccessTokenSql = sqlPerTables(
  (t) =>
    `INSERT INTO ${t.oauth_access_tokens} (jti, grant_id, client_id, user_id, scopes, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (jti) DO NOTHING`,
);
const extendGrantSql = sqlPerTables(
  (t) =>
    `UPDATE ${t.oauth_grants} SET refresh_expires_at = GREATEST(refresh_expires_at, $2), updated_at = GREATEST(updated_at, $3) WHERE grant_id = $1`,
);

export const grantsProjection: Projection = {
  name: 'oauth_grants',
  version: 1,
  tables: {
    oauth_grants: `CREATE TABLE {oauth_grants} (
      grant_id   text PRIMARY KEY,
      client_id  text NOT NULL,
      user_id    text,
      scopes     text[] NOT NULL,
      resource   text NOT NULL,
      status     text NOT NULL,
      refresh_expires_at timestamptz,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    );
    CREATE INDEX {oauth_grants}_user ON {oauth_grants} (user_id);
    CREATE INDEX {oauth_grants}_client ON {oauth_grants} (client_id)`,
    oauth_access_tokens: `CREATE TABLE {oauth_access_tokens} (
      jti        text PRIMARY KEY,
      grant_id   text NOT NULL,
      client_id  text NOT NULL,
      user_id    text,
      scopes     text[] NOT NULL,
      issued_at  timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      revoked    boolean NOT NULL DEFAULT false
    );
    CREATE INDEX {oauth_access_tokens}_grant ON {oauth_access_tokens} (grant_id)`,
    oauth_consents: `CREATE TABLE {oauth_consents} (
      user_id    text NOT NULL,
      client_id  text NOT NULL,
      scopes     text[] NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (user_id, client_id)
    )`,
  },
  eventTypes: TYPES,
  toStatements(recorded: RecordedEvent, t: Tables): Statement[] {
    const event = GrantEvent.parse(recorded);
    const token = (
      grantId: string,
      clientId: string,
      userId: string | null,
      tokens: IssuedTokens,
      at: string,
    ): Statement => ({
      sql: insertAccessTokenSql(t),
      params: [tokens.accessTokenId, grantId, clientId, userId, tokens.scopes, at, tokens.accessExpiresAt],
      // A batch of issued tokens is one INSERT per table (projections/sql.ts runSql), not two per token.
      rows: true,
      batch: {
        key: `token ${tokens.accessTokenId}`,
        types: ['text', 'text', 'text', 'text', 'text[]', 'timestamptz', 'timestamptz'],
      },
    });
    const grant = (
      grantId: string,
      clientId: string,
      userId: string | null,
      tokens: IssuedTokens,
      resource: string,
      at: string,
    ): Statement => ({
      sql: `INSERT INTO ${t.oauth_grants} (grant_id, client_id, user_id, scopes, resource, status, refresh_expires_at, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $7) ON CONFLICT (grant_id) DO NOTHING`,
      params: [grantId, clientId, userId, tokens.scopes, resource, tokens.refreshExpiresAt ?? null, at],
      rows: true,
      batch: {
        key: `grant ${grantId}`,
        types: ['text', 'text', 'text', 'text[]', 'text', 'timestamptz', 'timestamptz'],
      },
    });
    switch (event.type) {
      case 'ConsentGiven': {
        const d = event.data;
        // Union of approved scopes; re-applying the same event yields the same set.
        return [
          {
            sql: `INSERT INTO ${t.oauth_consents} (user_id, client_id, scopes, updated_at) VALUES ($1, $2, $3, $4)
                  ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = ARRAY(SELECT DISTINCT unnest(${t.oauth_consents}.scopes || EXCLUDED.scopes) ORDER BY 1), updated_at = GREATEST(${t.oauth_consents}.updated_at, EXCLUDED.updated_at)`,
            params: [d.userId, d.clientId, [...d.scopes].sort(), d.at],
            batch: {
              key: `consent ${JSON.stringify([d.userId, d.clientId])}`,
              types: ['text', 'text', 'text[]', 'timestamptz'],
            },
          },
        ];
      }
      case 'AuthorizationCodeRedeemed': {
        const d = event.data;
        return [
          grant(d.grantId, d.clientId, d.userId, d.tokens, d.resource, d.at),
          token(d.grantId, d.clientId, d.userId, d.tokens, d.at),
        ];
      }
      case 'RefreshTokenRotated': {
        const d = event.data;
        return [
          {
            sql: extendGrantSql(t),
            params: [d.grantId, d.tokens.refreshExpiresAt ?? null, d.at],
            batch: { key: `grant ${d.grantId}`, types: ['text', 'timestamptz', 'timestamptz'] },
          },
          token(d.grantId, d.clientId, d.userId, d.tokens, d.at),
        ];
      }
      case 'ClientCredentialsIssued': {
        const d = event.data;
        return [
          grant(d.grantId, d.clientId, d.userId ?? null, d.tokens, d.resource, d.at),
          token(d.grantId, d.clientId, d.userId ?? null, d.tokens, d.at),
        ];
      }
      case 'AccessTokenRevoked':
        return [
          {
            sql: `UPDATE ${t.oauth_access_tokens} SET revoked = true WHERE jti = $1`,
            params: [event.data.accessTokenId],
            batch: { key: `token ${event.data.accessTokenId}`, types: ['text'] },
          },
        ];
      case 'GrantRevoked':
        return [
          {
            sql: `UPDATE ${t.oauth_grants} SET status = 'revoked', updated_at = GREATEST(updated_at, $2) WHERE grant_id = $1`,
            params: [event.data.grantId, event.data.at],
            batch: { key: `grant ${event.data.grantId}`, types: ['text', 'timestamptz'] },
          },
          // Every token of the grant: not one key, so it runs in order between the set-based rounds.
          {
            sql: `UPDATE ${t.oauth_access_tokens} SET revoked = true WHERE grant_id = $1`,
            params: [event.data.grantId],
          },
        ];
      case 'AuthorizationRequested':
      case 'LoginFailed':
      case 'ConsentDenied':
      case 'AuthorizationCodeIssued':
      case 'GrantSnapshotted':
        return [];
      default:
        return assertNever(event);
    }
  },
};
