// Read models of the mcp area (added to the runner by projections/index.ts).
// `mcp_sessions`: one row per MCP session, for the admin panel, the expiry sweep and the session caps
// (mcp/session-caps.ts counts a user's and a token's open sessions here). Message events
// (McpEventEmitted) are not projected: resumption reads them straight from the session's stream.
import { assertNever } from '../../domain/shared.ts';
import { McpSessionEvent } from '../../domain/sessions/index.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import type { Projection, Statement, Tables } from '../sql.ts';
import { mcpTasksProjection } from './tasks.ts';

const TYPES = McpSessionEvent.options.map((option) => option.shape.type.value);

export const mcpSessionsProjection: Projection = {
  name: 'mcp_sessions',
  version: 2,
  tables: {
    mcp_sessions: `CREATE TABLE {mcp_sessions} (
      id               text PRIMARY KEY,
      user_id          text NOT NULL,
      client_id        text NOT NULL,
      token_id         text,
      protocol_version text NOT NULL,
      client_name      text NOT NULL,
      client_version   text NOT NULL,
      status           text NOT NULL,
      opened_at        timestamptz NOT NULL,
      expires_at       timestamptz NOT NULL,
      closed_at        timestamptz,
      close_reason     text
    );
    CREATE INDEX {mcp_sessions}_open ON {mcp_sessions} (expires_at) WHERE status = 'open';
    CREATE INDEX {mcp_sessions}_open_by_user ON {mcp_sessions} (user_id) WHERE status = 'open'`,
  },
  eventTypes: TYPES,
  toStatements(recorded: RecordedEvent, t: Tables): Statement[] {
    const event = McpSessionEvent.parse(recorded);
    switch (event.type) {
      case 'McpSessionOpened': {
        const d = event.data;
        return [
          {
            sql: `INSERT INTO ${t.mcp_sessions} (id, user_id, client_id, token_id, protocol_version, client_name, client_version, status, opened_at, expires_at)
                  VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9) ON CONFLICT (id) DO NOTHING`,
            params: [
              d.sessionId,
              d.userId,
              d.clientId,
              d.tokenId ?? null,
              d.protocolVersion,
              d.clientName,
              d.clientVersion,
              d.openedAt,
              d.expiresAt,
            ],
            batch: {
              key: d.sessionId,
              types: ['text', 'text', 'text', 'text', 'text', 'text', 'text', 'timestamptz', 'timestamptz'],
            },
          },
        ];
      }
      case 'McpSessionClosed':
        // Idempotent: only the first close is recorded.
        return [
          {
            sql: `UPDATE ${t.mcp_sessions} SET status = 'closed', closed_at = $2, close_reason = $3 WHERE id = $1 AND status = 'open'`,
            params: [event.data.sessionId, event.data.at, event.data.reason],
            batch: { key: event.data.sessionId, types: ['text', 'timestamptz', 'text'] },
          },
        ];
      default:
        return assertNever(event);
    }
  },
};

export const mcpProjections: readonly Projection[] = [mcpSessionsProjection, mcpTasksProjection];
