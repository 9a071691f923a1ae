// Read models `tool_settings` (which tools an admin switched off) and `tool_calls` (the audit trail of calls).
import { ToolCalled, ToolSettingEvent } from '../../domain/tools/index.ts';
import { assertNever } from '../../domain/shared.ts';
import { ERASED, ERASED_OBJECT, ERASURE } from '../../domain/personal.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { sqlPerTables, type Projection, type Statement, type Tables } from '../sql.ts';

export const toolSettingsProjection: Projection = {
  name: 'tool_settings',
  version: 1,
  tables: {
    tool_settings: `CREATE TABLE {tool_settings} (
      name       text PRIMARY KEY,
      enabled    boolean NOT NULL,
      reason     text,
      changed_by jsonb,
      updated_at timestamptz NOT NULL,
      revision   bigint NOT NULL
    )`,
  },
  eventTypes: ToolSettingEvent.options.map((option) => option.shape.type.value),
  // changed_by is the event's actor.
  readsMetadata: true,
  toStatements(recorded: RecordedEvent, t: Tables): Statement[] {
    const event = ToolSettingEvent.parse(recorded);
    const enabled = event.type === 'ToolEnabled';
    if (event.type !== 'ToolEnabled' && event.type !== 'ToolDisabled') return assertNever(event);
    const reason = event.type === 'ToolDisabled' ? (event.data.reason ?? null) : null;
    // Idempotent: an older revision never overwrites a newer one.
    return [
      {
        sql: `INSERT INTO ${t.tool_settings} (name, enabled, reason, changed_by, updated_at, revision) VALUES ($1, $2, $3, $4, $5, $6)
              ON CONFLICT (name) DO UPDATE SET enabled = EXCLUDED.enabled, reason = EXCLUDED.reason, changed_by = EXCLUDED.changed_by,
                updated_at = EXCLUDED.updated_at, revision = EXCLUDED.revision
              WHERE ${t.tool_settings}.revision < EXCLUDED.revision`,
        params: [
          event.data.name,
          enabled,
          reason,
          JSON.stringify(recorded.metadata.actor ?? null),
          event.data.at,
          String(recorded.revision),
        ],
        // The whole row, guarded by the stream's revision: the later of two writes alone leaves the same row.
        batch: {
          key: event.data.name,
          types: ['text', 'boolean', 'text', 'jsonb', 'timestamptz', 'bigint'],
          supersedes: true,
        },
      },
    ];
  },
};

// Per set of tables (see sqlPerTables): a rebuild keys its rounds by it.
const insertCallSql = sqlPerTables(
  (
    t,
  ) => `INSERT INTO ${t.tool_calls} (event_id, call_id, tool, user_id, client_id, session_id, token_id, arguments, outcome, error, duration_ms, at)
              VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (event_id) DO NOTHING`,
);

export const toolCallsProjection: Projection = {
  name: 'tool_calls',
  version: 1,
  tables: {
    tool_calls: `CREATE TABLE {tool_calls} (
      event_id    uuid PRIMARY KEY,
      call_id     text NOT NULL,
      tool        text NOT NULL,
      user_id     text NOT NULL,
      client_id   text NOT NULL,
      session_id  text,
      token_id    text,
      arguments   jsonb NOT NULL,
      outcome     text NOT NULL,
      error       text,
      duration_ms double precision NOT NULL,
      at          timestamptz NOT NULL
    );
    CREATE INDEX {tool_calls}_at ON {tool_calls} (at DESC);
    CREATE INDEX {tool_calls}_user ON {tool_calls} (user_id, at DESC)`,
  },
  eventTypes: ['ToolCalled', ERASURE.type],
  toStatements(recorded: RecordedEvent, t: Tables): Statement[] {
    // The calls stay (tool, outcome, time); what the erased user passed and got back reads as erased.
    if (recorded.type === ERASURE.type)
      return [
        {
          sql: `UPDATE ${t.tool_calls} SET arguments = $2, error = CASE WHEN error IS NULL THEN NULL ELSE $3 END WHERE user_id = $1`,
          params: [(recorded.data as { userId: string }).userId, JSON.stringify(ERASED_OBJECT), ERASED],
        },
      ];
    const { data } = ToolCalled.parse(recorded);
    return [
      {
        sql: insertCallSql(t),
        params: [
          recorded.id,
          data.callId,
          data.tool,
          data.userId,
          data.clientId,
          data.sessionId ?? null,
          data.tokenId ?? null,
          JSON.stringify(data.arguments),
          data.outcome,
          data.error ?? null,
          data.durationMs,
          data.at,
        ],
        rows: true,
        // Keyed by the event's own id: a rebuild COPYs the rows straight in.
        batch: {
          key: recorded.id,
          fresh: true,
          types: [
            'uuid',
            'text',
            'text',
            'text',
            'text',
            'text',
            'text',
            'jsonb',
            'text',
            'text',
            'float8',
            'timestamptz',
          ],
        },
      },
    ];
  },
};
