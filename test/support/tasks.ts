// One "instance" of the durable tasks for tests: its own pool, log, read-model runner, log follower and
// DurableTasks, on a database shared with the others (as two server processes would be).
import { createLogger } from '../../app/logger.ts';
import { openDatabase, type Database } from '../../db/database.ts';
import { migrate } from '../../db/migrate.ts';
import { PostgresEventLog } from '../../eventstore/postgres.ts';
import { EventLogBus } from '../../mcp/modern/event-bus.ts';
import { DurableTasks, type DurableTasksOptions, type TaskRunner } from '../../mcp/modern/tasks.ts';
import { mcpTasksProjection } from '../../projections/mcp/tasks.ts';
import { ProjectionRunner } from '../../projections/runner.ts';

export type TaskInstance = {
  db: Database;
  log: PostgresEventLog;
  runner: ProjectionRunner;
  bus: EventLogBus;
  tasks: DurableTasks;
  close(): Promise<void>;
};

export const taskInstance = async (
  url: string,
  instanceId: string,
  run: TaskRunner,
  options: Partial<DurableTasksOptions> = {},
): Promise<TaskInstance> => {
  const db = await openDatabase({ kind: 'server', url, max: 4 });
  await migrate(db);
  const logger = createLogger('silent');
  const log = new PostgresEventLog(db, { pollMs: 25 });
  const runner = new ProjectionRunner(db, log, [mcpTasksProjection], logger, { lockRetryMs: 50 });
  await runner.start();
  const bus = new EventLogBus(log, logger);
  await bus.start();
  const tasks = new DurableTasks(log, db, logger, {
    instanceId,
    run,
    isReadOnly: (tool) => tool.startsWith('read_'),
    maxResultBytes: 4_096,
    leaseMs: 600,
    pollIntervalMs: 100,
    progressEveryMs: 0,
    ...options,
  });
  bus.tap((event) => tasks.onLogEvent(event));
  return {
    db,
    log,
    runner,
    bus,
    tasks,
    async close() {
      await tasks.close();
      await bus.close();
      await runner.stop();
      await log.close();
      await db.close();
    },
  };
};

/** Resolves when `check` holds, trying every 25 ms for at most `attempts` tries (then rejects with `what`). */
export const eventually = async <T>(what: string, check: () => Promise<T | undefined>, attempts = 400): Promise<T> => {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`never happened: ${what}`);
};
