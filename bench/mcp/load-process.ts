// Child process for bench/mcp/cpu.ts: runs one load (load.ts) against the URL it is sent and replies with
// the result, so the load generator's CPU is not counted in the server's.
import { CALLS, runLoad } from './load.ts';

type Task = {
  url: string;
  headers: Record<string, string>;
  connections: number;
  seconds: number;
  call: keyof typeof CALLS;
  era: 'legacy' | 'modern';
};

process.once('message', async (task: Task) => {
  const result = await runLoad(task.url, task.headers, task.connections, task.seconds, CALLS[task.call], task.era);
  process.send!(result, () => process.exit(0));
});
