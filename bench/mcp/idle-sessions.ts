// bench/mcp/idle-sessions: heap bytes one idle MCP session costs the instance that opened it.
// Opens N sessions (initialize + initialized, real tools) over HTTP, then measures the heap after a full
// GC: right after opening, and again once the idle sessions were evicted. Not a throughput benchmark.
// Run: node --expose-gc --import tsx bench/mcp/idle-sessions.ts [sessions=500]
import v8 from 'node:v8';
import { createMcp } from '../../mcp/index.ts';
import { StandInTokens } from '../../test/mcp/support.ts';
import { openSession } from '../../test/mcp/raw.ts';
import { startTestServer } from '../../test/support/server.ts';

const N = Number(process.argv[2] ?? 500);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const heap = async (): Promise<number> => {
  for (let i = 0; i < 3; i += 1) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return v8.getHeapStatistics().used_heap_size;
};

const server = await startTestServer({
  MCP_SESSION_IDLE_TIMEOUT: '1s',
  MCP_MAX_SESSIONS_PER_USER: '100000',
  MCP_MAX_SESSIONS_PER_TOKEN: '100000',
});
const tokens = await StandInTokens.create();
const previous = server.services.mcp;
server.services.mcp = await createMcp(server.services, { verifier: tokens }, server.services.tools);
await previous.close();
const { token } = await tokens.issue({ sub: 'bench-user', aud: `${server.base}/mcp` });
await openSession(server.base, token); // warm-up: code paths compiled, caches filled
const before = await heap();
for (let i = 0; i < N; i += 1) await openSession(server.base, token);
const open = await heap();
const sessions = server.services.mcp.sessions as unknown as { hosts: Map<string, unknown>; sweep(now?: number): void };
sessions.sweep(Date.now() + 10 * 60_000 + 1);
await new Promise((resolve) => setTimeout(resolve, 200));
const evicted = await heap();
process.stdout.write(
  `sessions ${N}\nheap bytes per session, hosted: ${Math.round((open - before) / N)}\n` +
    `heap bytes per session, after idle eviction: ${Math.round((evicted - before) / N)} (${sessions.hosts.size} hosted)\n`,
);
await server.stop();
