// Durable tasks on two instances sharing one database: a task created on A is polled, cancelled and its
// result read on B; an instance that stops renewing its lease loses its tasks to the other one, which
// runs a read-only task again and fails one with side effects (never run twice). Results obey the
// stored-payload bound. Needs TEST_DATABASE_URL.
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TaskNotFoundError, createTaskResult, detailedTask, type TaskRunner } from '../../../mcp/modern/tasks.ts';
import type { ToolCaller } from '../../../mcp/tools/index.ts';
import { createServerDatabase, serverUrl } from '../../support/databases.ts';
import { skipSuite } from '../../support/skip.ts';
import { eventually, taskInstance, type TaskInstance } from '../../support/tasks.ts';

type Context = { url: string; a: TaskInstance; b: TaskInstance; drop: () => Promise<void> };
const test = suite<Context>('mcp modern: durable tasks on two instances');
const CASES = 5;

const caller: ToolCaller = {
  userId: 'user-1',
  clientId: 'client-1',
  scopes: ['mcp:tools:read', 'mcp:tools:write'],
  sessionId: undefined,
  tokenId: 'token-1',
};

/** Runs per "<instance>:<tool>:<key>"; a tool call waits for its key's gate (or its abort). */
const runs = new Map<string, number>();
const gates = new Map<string, () => void>();
const open = (key: string) => gates.get(key)?.();

const tools =
  (instance: string): TaskRunner =>
  async (tool, args, _caller, signal, progress) => {
    const key = String(args.key);
    const id = `${instance}:${tool}:${key}`;
    runs.set(id, (runs.get(id) ?? 0) + 1);
    if (tool === 'read_big') return { content: [{ type: 'text', text: 'x'.repeat(10_000) }] };
    progress({ progress: 1, total: 2, message: 'halfway' });
    await new Promise<void>((resolve, reject) => {
      gates.set(key, resolve);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    return { content: [{ type: 'text', text: `${tool} ${key} done on ${instance}` }] };
  };

const runsOf = (tool: string, key: string) => ({
  a: runs.get(`a:${tool}:${key}`) ?? 0,
  b: runs.get(`b:${tool}:${key}`) ?? 0,
});

if (!serverUrl()) {
  skipSuite('mcp modern: durable tasks on two instances', 'TEST_DATABASE_URL not set', CASES);
} else {
  test.before(async (context) => {
    const database = await createServerDatabase();
    context.url = database.url;
    context.drop = database.drop;
    context.a = await taskInstance(database.url, 'a', tools('a'));
    context.b = await taskInstance(database.url, 'b', tools('b'));
    context.b.tasks.start();
  });
  test.after(async ({ a, b, drop }) => {
    await a.close();
    await b.close();
    await drop();
  });

  test('created on A: B finds it at once, sees its progress, and reads the inlined result', async ({ a, b }) => {
    const taskId = randomUUID();
    const created = createTaskResult(await a.tasks.create(caller, taskId, 'read_slow', { key: 'k1' }));
    assert.equal(
      { resultType: created.resultType, taskId: created.taskId, status: created.status, ttlMs: created.ttlMs },
      { resultType: 'task', taskId, status: 'working', ttlMs: 3_600_000 },
    );
    // Durable before the answer: tasks/get on the other instance resolves immediately.
    assert.is((await b.tasks.get(caller, taskId)).status, 'working');
    const progressed = await eventually('progress recorded', async () => {
      const task = detailedTask(await b.tasks.get(caller, taskId));
      return 'statusMessage' in task ? task : undefined;
    });
    assert.is(progressed.statusMessage, '1/2 halfway');
    open('k1');
    const done = await eventually('completed', async () => {
      const task = await b.tasks.get(caller, taskId);
      return task.status === 'completed' ? detailedTask(task) : undefined;
    });
    assert.equal(done.result, { content: [{ type: 'text', text: 'read_slow k1 done on a' }] });
    assert.not.ok('error' in done);
    assert.equal(runsOf('read_slow', 'k1'), { a: 1, b: 0 });
  });

  test('cancelled on B: A stops the call, the status stays cancelled, a second cancel changes nothing', async ({
    a,
    b,
  }) => {
    const taskId = randomUUID();
    await a.tasks.create(caller, taskId, 'read_slow', { key: 'k2' });
    assert.equal(a.tasks.runningHere(), [taskId]);
    assert.is((await b.tasks.cancel(caller, taskId)).status, 'cancelled');
    await eventually('A stopped the call', async () => (a.tasks.runningHere().length === 0 ? true : undefined));
    const before = await a.log.streamVersion(`mcp-task-${taskId}`);
    assert.is((await b.tasks.cancel(caller, taskId)).status, 'cancelled');
    assert.is(await a.log.streamVersion(`mcp-task-${taskId}`), before);
    const task = detailedTask(await a.tasks.get(caller, taskId));
    assert.is(task.status, 'cancelled');
    assert.not.ok('result' in task);
  });

  test("another user's task, or a made-up id, is unknown (not disclosed)", async ({ a, b }) => {
    const taskId = randomUUID();
    await a.tasks.create(caller, taskId, 'read_big', { key: 'k3' });
    for (const who of [
      { userId: 'user-2', clientId: 'client-1' },
      { userId: 'user-1', clientId: 'client-2' },
    ]) {
      try {
        await b.tasks.get(who, taskId);
        assert.unreachable('found');
      } catch (error) {
        assert.instance(error, TaskNotFoundError);
      }
      try {
        await b.tasks.cancel(who, taskId);
        assert.unreachable('cancelled');
      } catch (error) {
        assert.instance(error, TaskNotFoundError);
      }
    }
    try {
      await b.tasks.get(caller, randomUUID());
      assert.unreachable('found');
    } catch (error) {
      assert.instance(error, TaskNotFoundError);
    }
  });

  test('a result over the stored-payload bound is not kept: the task fails with -32000 and the sizes', async ({
    a,
    b,
  }) => {
    const taskId = randomUUID();
    await a.tasks.create(caller, taskId, 'read_big', { key: 'k4' });
    const failed = await eventually('failed', async () => {
      const task = await b.tasks.get(caller, taskId);
      return task.status === 'failed' ? detailedTask(task) : undefined;
    });
    assert.equal(failed.error, {
      code: -32000,
      message: 'The result (10039 bytes) was larger than this server keeps (4096 bytes)',
      data: { reason: 'task_result_too_large', bytes: 10039, limit: 4096 },
    });
    assert.not.ok('result' in failed);
  });

  test('A stops renewing: B resumes the read-only task (attempt 2) and fails the one with side effects', async (context) => {
    const readId = randomUUID();
    const writeId = randomUUID();
    await context.a.tasks.create(caller, readId, 'read_slow', { key: 'k5' });
    await context.a.tasks.create(caller, writeId, 'write_slow', { key: 'k6' });
    // A stops as after a crash: nothing more from it in the log.
    await context.a.close();
    const resumed = await eventually('resumed on B', async () => {
      const task = await context.b.tasks.get(caller, readId);
      return task.attempt === 2 ? task : undefined;
    });
    assert.is(resumed.owner, 'b');
    const failed = await eventually('failed on B', async () => {
      const task = await context.b.tasks.get(caller, writeId);
      return task.status === 'failed' ? detailedTask(task) : undefined;
    });
    assert.equal((failed.error as { data?: unknown }).data, { reason: 'owner_lost', tool: 'write_slow' });
    open('k5');
    const done = await eventually('completed on B', async () => {
      const task = await context.b.tasks.get(caller, readId);
      return task.status === 'completed' ? detailedTask(task) : undefined;
    });
    assert.equal(done.result, { content: [{ type: 'text', text: 'read_slow k5 done on b' }] });
    assert.equal(runsOf('read_slow', 'k5'), { a: 1, b: 1 });
    assert.equal(runsOf('write_slow', 'k6'), { a: 1, b: 0 });
    // A fresh A for after().
    context.a = await taskInstance(context.url, 'a2', tools('a2'));
  });

  test.run();
}
