// mcp_tasks: a row only moves forward by revision, so the events applied twice, or an old one late and
// alone, leave the same rows; the lapsed-lease index sees only working tasks.
import * as assert from 'uvu/assert';
import { TaskEvent, taskStream } from '../../../domain/tasks/index.ts';
import { mcpTasksProjection } from '../../../projections/mcp/tasks.ts';
import { applyTwice, projectionSuite, recorder } from '../../support/projections.ts';

const test = projectionSuite('projections: mcp_tasks');

const created = (taskId: string, readOnly: boolean): TaskEvent => ({
  type: 'TaskCreated',
  data: {
    taskId,
    tool: readOnly ? 'fs_search_files' : 'memory_create_entities',
    ...(readOnly ? { arguments: { path: '/', pattern: '*' } } : {}),
    readOnly,
    userId: 'user-1',
    clientId: 'client-1',
    scopes: ['mcp:tools:read'],
    ttlMs: 3_600_000,
    pollIntervalMs: 500,
    owner: 'a',
    attempt: 1,
    leaseUntil: '2026-01-01T00:00:10.000Z',
    at: '2026-01-01T00:00:00.000Z',
  },
});

test('a task resumed then completed, one failed when its owner was lost, one cancelled, applied twice', async ({
  database,
}) => {
  const record = recorder(TaskEvent);
  const events = [
    record(taskStream('t1'), created('t1', true)),
    record(taskStream('t2'), created('t2', false)),
    record(taskStream('t3'), created('t3', true)),
    record(taskStream('t1'), {
      type: 'TaskLeaseRenewed',
      data: {
        taskId: 't1',
        owner: 'a',
        attempt: 1,
        leaseUntil: '2026-01-01T00:00:15.000Z',
        at: '2026-01-01T00:00:05.000Z',
      },
    }),
    record(taskStream('t1'), {
      type: 'TaskResumed',
      data: {
        taskId: 't1',
        owner: 'b',
        attempt: 2,
        leaseUntil: '2026-01-01T00:00:30.000Z',
        previousOwner: 'a',
        at: '2026-01-01T00:00:20.000Z',
      },
    }),
    record(taskStream('t1'), {
      type: 'TaskProgressed',
      data: { taskId: 't1', attempt: 2, progress: 5, total: 10, at: '2026-01-01T00:00:21.000Z' },
    }),
    record(taskStream('t2'), {
      type: 'TaskFailed',
      data: {
        taskId: 't2',
        attempt: 1,
        reason: 'owner_lost',
        error: { code: -32603, message: 'lost' },
        at: '2026-01-01T00:00:20.000Z',
      },
    }),
    record(taskStream('t1'), {
      type: 'TaskCompleted',
      data: { taskId: 't1', attempt: 2, result: { content: [] }, at: '2026-01-01T00:00:22.000Z' },
    }),
    record(taskStream('t3'), { type: 'TaskCancelled', data: { taskId: 't3', at: '2026-01-01T00:00:01.000Z' } }),
  ];
  const rows = await applyTwice(database.db, mcpTasksProjection, events, { mcp_tasks: 'task_id' });
  assert.equal(
    rows.mcp_tasks!.map(({ task_id, status, owner, attempt, lease_until, reason, updated_at, revision }) => ({
      task_id,
      status,
      owner,
      attempt,
      lease_until,
      reason,
      updated_at,
      revision,
    })),
    [
      {
        task_id: 't1',
        status: 'completed',
        owner: 'b',
        attempt: 2,
        lease_until: '2026-01-01T00:00:30.000Z',
        reason: null,
        updated_at: '2026-01-01T00:00:22.000Z',
        revision: '4',
      },
      {
        task_id: 't2',
        status: 'failed',
        owner: 'a',
        attempt: 1,
        lease_until: '2026-01-01T00:00:10.000Z',
        reason: 'owner_lost',
        updated_at: '2026-01-01T00:00:20.000Z',
        revision: '1',
      },
      {
        task_id: 't3',
        status: 'cancelled',
        owner: 'a',
        attempt: 1,
        lease_until: '2026-01-01T00:00:10.000Z',
        reason: null,
        updated_at: '2026-01-01T00:00:01.000Z',
        revision: '1',
      },
    ],
  );
  assert.equal(
    { tool: rows.mcp_tasks![1]!.tool, read_only: rows.mcp_tasks![1]!.read_only, user_id: rows.mcp_tasks![1]!.user_id },
    { tool: 'memory_create_entities', read_only: false, user_id: 'user-1' },
  );
});

test.run();
