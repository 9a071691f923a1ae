// Child process for the task kill -9 test: an instance that starts a read-only and a side-effecting
// task, applies the side effect (a line in a file), says so, and then hangs until it is killed.
import fs from 'node:fs';
import path from 'node:path';
import type { ToolCaller } from '../../mcp/tools/index.ts';
import { taskInstance } from '../support/tasks.ts';

const [url, markerDir, readId, writeId] = process.argv.slice(2) as [string, string, string, string];
const caller: ToolCaller = {
  userId: 'user-1',
  clientId: 'client-1',
  scopes: ['mcp:tools:read', 'mcp:tools:write'],
  sessionId: undefined,
  tokenId: undefined,
};
let applied!: () => void;
const sideEffectApplied = new Promise<void>((resolve) => (applied = resolve));
const instance = await taskInstance(url, 'child', async (tool, _args, _caller, signal) => {
  if (tool.startsWith('write_')) {
    fs.appendFileSync(path.join(markerDir, 'applied'), 'child\n');
    applied();
  }
  // Long work: it never ends here, the parent kills the process.
  await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
  return { content: [] };
});
await instance.tasks.create(caller, readId, 'read_tree', { key: 'r' });
await instance.tasks.create(caller, writeId, 'write_file', { key: 'w' });
await sideEffectApplied;
process.stdout.write('started\n');
