// Read model `mcp_tasks`: one row per task of the MCP tasks extension, for the sweep that finds lapsed
// leases (mcp/modern/tasks.ts) and for the admin panel. tasks/get never reads it: it folds the task's
// own stream, so a task is found on any instance the moment its creation is acknowledged.
import { assertNever } from '../../domain/shared.ts';
import { TASK_EVENT_TYPES, TaskEvent } from '../../domain/tasks/index.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import type { Projection, Statement, Tables } from '../sql.ts';

export const mcpTasksProjection: Projection = {
  name: 'mcp_tasks',
  version: 1,
  tables: {
    mcp_tasks: `CREATE TABLE {mcp_tasks} (
      task_id     text PRIMARY KEY,
      tool        text NOT NULL,
      user_id     text NOT NULL,
      client_id   text NOT NULL,
      token_id    text,
      read_only   boolean NOT NULL,
      status      text NOT NULL,
      owner       text NOT NULL,
      attempt     int NOT NULL,
      lease_until timestamptz NOT NULL,
      reason      text,
      created_at  timestamptz NOT NULL,
      updated_at  timestamptz NOT NULL,
      revision    bigint NOT NULL
    );
    CREATE INDEX {mcp_tasks}_working ON {mcp_tasks} (lease_until) WHERE status = 'working';
    CREATE INDEX {mcp_tasks}_by_user ON {mcp_tasks} (user_id, created_at DESC)`,
  },
  eventTypes: TASK_EVENT_TYPES,
  toStatements(recorded: RecordedEvent, t: Tables): Statement[] {
    const event = TaskEvent.parse(recorded);
    const revision = String(recorded.revision);
    // Idempotent: a row only moves forward (an event at or below its revision was applied already).
    const update = (set: string, params: unknown[], types: string[]): Statement => ({
      sql: `UPDATE ${t.mcp_tasks} SET ${set}, revision = $2 WHERE task_id = $1 AND revision < $2`,
      params: [event.data.taskId, revision, ...params],
      batch: { key: event.data.taskId, types: ['text', 'bigint', ...types] },
    });
    switch (event.type) {
      case 'TaskCreated': {
        const d = event.data;
        return [
          {
            sql: `INSERT INTO ${t.mcp_tasks} (task_id, tool, user_id, client_id, token_id, read_only, status, owner, attempt, lease_until, created_at, updated_at, revision)
                  VALUES ($1, $2, $3, $4, $5, $6, 'working', $7, $8, $9, $10, $10, $11) ON CONFLICT (task_id) DO NOTHING`,
            params: [
              d.taskId,
              d.tool,
              d.userId,
              d.clientId,
              d.tokenId ?? null,
              d.readOnly,
              d.owner,
              d.attempt,
              d.leaseUntil,
              d.at,
              revision,
            ],
            batch: {
              key: d.taskId,
              types: [
                'text',
                'text',
                'text',
                'text',
                'text',
                'boolean',
                'text',
                'int4',
                'timestamptz',
                'timestamptz',
                'bigint',
              ],
            },
          },
        ];
      }
      case 'TaskLeaseRenewed':
        return [update('lease_until = $3', [event.data.leaseUntil], ['timestamptz'])];
      case 'TaskResumed':
        return [
          update(
            'owner = $3, attempt = $4, lease_until = $5, updated_at = $6',
            [event.data.owner, event.data.attempt, event.data.leaseUntil, event.data.at],
            ['text', 'int4', 'timestamptz', 'timestamptz'],
          ),
        ];
      case 'TaskProgressed':
        return [update('updated_at = $3', [event.data.at], ['timestamptz'])];
      case 'TaskCompleted':
        return [update(`status = 'completed', updated_at = $3`, [event.data.at], ['timestamptz'])];
      case 'TaskFailed':
        return [
          update(
            `status = 'failed', reason = $3, updated_at = $4`,
            [event.data.reason, event.data.at],
            ['text', 'timestamptz'],
          ),
        ];
      case 'TaskCancelled':
        return [update(`status = 'cancelled', updated_at = $3`, [event.data.at], ['timestamptz'])];
      default:
        return assertNever(event);
    }
  },
};
