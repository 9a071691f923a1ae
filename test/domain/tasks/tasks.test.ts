// The task aggregate: who may report on a task (the current attempt only), what a lapsed lease leads to
// (a read-only task resumed, any other failed, never both), and that a cancel wins over a late result.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  TASK_INTERNAL_ERROR,
  taskDecider,
  isExpired,
  type TaskCommand,
  type TaskEvent,
} from '../../../domain/tasks/index.ts';
import { specFor } from '../../support/decider.ts';

const test = suite('domain: tasks');
const spec = specFor(taskDecider);
const t0 = new Date('2026-07-28T10:00:00.000Z');
const later = (ms: number) => new Date(t0.getTime() + ms);

const create = (readOnly: boolean): Extract<TaskCommand, { type: 'CreateTask' }> => ({
  type: 'CreateTask',
  taskId: 'task-1',
  tool: readOnly ? 'fs_search_files' : 'fs_write_file',
  arguments: { path: '/data', pattern: '*.md' },
  readOnly,
  userId: 'user-1',
  clientId: 'client-1',
  scopes: ['mcp:tools:read'],
  tokenId: 'token-1',
  ttlMs: 3_600_000,
  pollIntervalMs: 500,
  owner: 'instance-a',
  leaseMs: 10_000,
  now: t0,
});
const created = (readOnly: boolean): TaskEvent => taskDecider.decide(create(readOnly), taskDecider.initialState())[0]!;

test('created: the lease runs from now; arguments are kept only for a read-only tool', () => {
  const readOnly = created(true);
  assert.equal(readOnly, {
    type: 'TaskCreated',
    data: {
      taskId: 'task-1',
      tool: 'fs_search_files',
      arguments: { path: '/data', pattern: '*.md' },
      readOnly: true,
      userId: 'user-1',
      clientId: 'client-1',
      scopes: ['mcp:tools:read'],
      tokenId: 'token-1',
      ttlMs: 3_600_000,
      pollIntervalMs: 500,
      owner: 'instance-a',
      attempt: 1,
      leaseUntil: '2026-07-28T10:00:10.000Z',
      at: '2026-07-28T10:00:00.000Z',
    },
  });
  assert.not.ok('arguments' in created(false).data);
  spec([created(true)])
    .when(create(true))
    .thenFails('task_exists');
  spec([])
    .when({ ...create(true), ttlMs: 0 })
    .thenFails('invalid_task');
});

test('an expired lease: a read-only task is resumed by the claimant as attempt 2', () => {
  spec([created(true)])
    .when({ type: 'TakeOverExpired', owner: 'instance-b', leaseMs: 10_000, now: later(10_001) })
    .then([
      {
        type: 'TaskResumed',
        data: {
          taskId: 'task-1',
          owner: 'instance-b',
          attempt: 2,
          leaseUntil: '2026-07-28T10:00:20.001Z',
          previousOwner: 'instance-a',
          at: '2026-07-28T10:00:10.001Z',
        },
      },
    ]);
});

test('an expired lease: a task with side effects fails (owner_lost) and is never run again', () => {
  const events = taskDecider.decide(
    { type: 'TakeOverExpired', owner: 'instance-b', leaseMs: 10_000, now: later(10_001) },
    [created(false)].reduce(taskDecider.evolve, taskDecider.initialState()),
  );
  assert.is(events.length, 1);
  assert.is(events[0]!.type, 'TaskFailed');
  const data = events[0]!.data as Extract<TaskEvent, { type: 'TaskFailed' }>['data'];
  assert.is(data.reason, 'owner_lost');
  assert.is(data.error.code, TASK_INTERNAL_ERROR);
  // A second claimant, after the first one's failure, finds nothing to do.
  spec([created(false), events[0]!])
    .when({ type: 'TakeOverExpired', owner: 'instance-c', leaseMs: 10_000, now: later(20_000) })
    .then([]);
});

test('a live lease is not taken over; a renewed lease pushes the deadline', () => {
  spec([created(true)])
    .when({ type: 'TakeOverExpired', owner: 'instance-b', leaseMs: 10_000, now: later(9_999) })
    .then([]);
  const renewed = taskDecider.decide(
    { type: 'RenewLease', owner: 'instance-a', attempt: 1, leaseMs: 10_000, now: later(5_000) },
    [created(true)].reduce(taskDecider.evolve, taskDecider.initialState()),
  );
  spec([created(true), ...renewed])
    .when({ type: 'TakeOverExpired', owner: 'instance-b', leaseMs: 10_000, now: later(12_000) })
    .then([]);
});

test('the old attempt cannot report after a takeover: lease_lost, so a result is never recorded twice', () => {
  const resumed = taskDecider.decide(
    { type: 'TakeOverExpired', owner: 'instance-b', leaseMs: 10_000, now: later(10_001) },
    [created(true)].reduce(taskDecider.evolve, taskDecider.initialState()),
  );
  const given = [created(true), ...resumed];
  spec(given)
    .when({ type: 'CompleteTask', attempt: 1, result: { content: [] }, now: later(11_000) })
    .thenFails('lease_lost');
  spec(given)
    .when({ type: 'RenewLease', owner: 'instance-a', attempt: 1, leaseMs: 10_000, now: later(11_000) })
    .thenFails('lease_lost');
  spec(given)
    .when({ type: 'CompleteTask', attempt: 2, result: { content: [] }, now: later(12_000) })
    .then([
      {
        type: 'TaskCompleted',
        data: { taskId: 'task-1', attempt: 2, result: { content: [] }, at: '2026-07-28T10:00:12.000Z' },
      },
    ]);
});

test('cancel: acknowledged again once ended; a late result after it is dropped', () => {
  const cancelled: TaskEvent = { type: 'TaskCancelled', data: { taskId: 'task-1', at: '2026-07-28T10:00:01.000Z' } };
  spec([created(true)])
    .when({ type: 'CancelTask', now: later(1_000) })
    .then([cancelled]);
  spec([created(true), cancelled])
    .when({ type: 'CancelTask', now: later(2_000) })
    .then([]);
  spec([created(true), cancelled])
    .when({ type: 'CompleteTask', attempt: 1, result: {}, now: later(3_000) })
    .then([]);
  spec([created(true), cancelled])
    .when({ type: 'ReportProgress', attempt: 1, progress: 1, now: later(3_000) })
    .then([]);
  spec([]).when({ type: 'CancelTask', now: t0 }).thenFails('task_not_found');
});

test('state: progress, result and time to live', () => {
  const state = [
    created(true),
    {
      type: 'TaskProgressed',
      data: { taskId: 'task-1', attempt: 1, progress: 3, total: 10, at: '2026-07-28T10:00:02.000Z' },
    },
    {
      type: 'TaskCompleted',
      data: {
        taskId: 'task-1',
        attempt: 1,
        result: { content: [{ type: 'text', text: 'ok' }] },
        at: '2026-07-28T10:00:03.000Z',
      },
    },
  ].reduce((s, e) => taskDecider.evolve(s, e as TaskEvent), taskDecider.initialState());
  assert.is(state.status, 'completed');
  if (state.status === 'absent') return;
  assert.equal(state.progress, { progress: 3, total: 10 });
  assert.equal(state.result, { content: [{ type: 'text', text: 'ok' }] });
  assert.is(state.lastUpdatedAt.toISOString(), '2026-07-28T10:00:03.000Z');
  assert.not.ok(isExpired(state, later(3_599_999)));
  assert.ok(isExpired(state, later(3_600_000)));
});

test.run();
