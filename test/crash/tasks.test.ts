// kill -9 of the instance running two tasks: another instance takes both over once their leases lapse.
// The read-only one runs again there and completes; the one with side effects (already applied once by
// the dead instance) is marked failed and not run again; neither is left working. Needs TEST_DATABASE_URL.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { detailedTask } from '../../mcp/modern/tasks.ts';
import { createServerDatabase, serverUrl } from '../support/databases.ts';
import { skipSuite } from '../support/skip.ts';
import { eventually, taskInstance } from '../support/tasks.ts';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'task-child.ts');
const test = suite('crash: kill -9 during tasks');
const owner = { userId: 'user-1', clientId: 'client-1' };

if (!serverUrl()) {
  skipSuite('crash: kill -9 during tasks', 'TEST_DATABASE_URL not set', 1);
} else {
  test('the read-only task is resumed and completes elsewhere; the side effect is not applied twice', async () => {
    const database = await createServerDatabase();
    const markers = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-task-crash-'));
    const readId = randomUUID();
    const writeId = randomUUID();
    const survivorRuns: string[] = [];
    const survivor = await taskInstance(database.url, 'survivor', async (tool) => {
      survivorRuns.push(tool);
      if (tool.startsWith('write_')) fs.appendFileSync(path.join(markers, 'applied'), 'survivor\n');
      return { content: [{ type: 'text', text: `${tool} finished by the survivor` }] };
    });
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD, database.url, markers, readId, writeId], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.on('exit', (_code, signal) => resolve(signal)),
      );
      await new Promise<void>((resolve, reject) => {
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('started')) resolve();
        });
        child.on('exit', () => reject(new Error(`child exited before starting: ${output}`)));
      });
      // Both tasks are working under the child's lease when it dies.
      assert.is((await survivor.tasks.get(owner, readId)).owner, 'child');
      assert.is((await survivor.tasks.get(owner, writeId)).status, 'working');
      child.kill('SIGKILL');
      assert.is(await exited, 'SIGKILL');
      survivor.tasks.start();

      const read = await eventually('read-only task completed by the survivor', async () => {
        const task = await survivor.tasks.get(owner, readId);
        return task.status === 'completed' ? task : undefined;
      });
      assert.equal(
        { owner: read.owner, attempt: read.attempt, result: detailedTask(read).result },
        {
          owner: 'survivor',
          attempt: 2,
          result: { content: [{ type: 'text', text: 'read_tree finished by the survivor' }] },
        },
      );
      const write = await eventually('side-effect task failed', async () => {
        const task = await survivor.tasks.get(owner, writeId);
        return task.status === 'failed' ? task : undefined;
      });
      assert.equal(write.error, {
        code: -32603,
        message:
          'the server instance running this task stopped; write_file changes data, so it was not run again (some of its changes may have been made)',
        data: { reason: 'owner_lost', tool: 'write_file' },
      });
      assert.equal(survivorRuns, ['read_tree']);
      assert.is(fs.readFileSync(path.join(markers, 'applied'), 'utf8'), 'child\n');
      // The read model agrees: nothing is left working.
      const rows = await eventually('the read model caught up', async () => {
        const { rows } = await survivor.db.query<{ status: string; reason: string | null }>(
          'SELECT status, reason FROM mcp_tasks ORDER BY status',
        );
        return rows.some((row) => row.status === 'working') ? undefined : rows;
      });
      assert.equal(
        rows.map(({ status, reason }) => ({ status, reason })),
        [
          { status: 'completed', reason: null },
          { status: 'failed', reason: 'owner_lost' },
        ],
      );
    } finally {
      await survivor.close();
      await database.drop();
      fs.rmSync(markers, { recursive: true, force: true });
    }
  });

  test.run();
}
