// Child process for bench/mcp/cpu.ts: runs one load (load.ts) against the URL it is sent and replies with
// the result, so the load generator's CPU is not counted in the server's.
import { runLoad } from './load.ts';

process.once('message', async (task: { url: string; headers: Record<string, string>; connections: number; seconds: number }) => {
  const result = await runLoad(task.url, task.headers, task.connections, task.seconds);
  process.send!(result, () => process.exit(0));
});
