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

// Eviction is driven by hand below (sweep), so the sweeper's own timer must not run meanwhile.
const server = await startTestServer({ MCP_SESSION_IDLE_TIMEOUT: '1h', MCP_MAX_SESSIONS_PER_USER: '100000' });
const tokens = await StandInTokens.create();
const previous = server.services.mcp;
server.services.mcp = await createMcp(server.services, { verifier: tokens }, server.services.tools);
await previous.close();
const sessions = server.services.mcp.sessions as unknown as { hosts: Map<string, unknown>; sweep(now?: number): void };
const evictIdle = async () => {
  sessions.sweep(Date.now() + 2 * 3_600_000);
  await new Promise((resolve) => setTimeout(resolve, 500));
};
const openSessions = async (count: number) => {
  // A token per session, as distinct clients would have (the per-token cap is not what is measured).
  for (let i = 0; i < count; i += 1) {
    const { token } = await tokens.issue({ sub: 'bench-user', aud: `${server.base}/mcp` });
    await openSession(server.base, token);
  }
};
// Warm-up: code paths compiled and caches filled before the baseline.
await openSessions(200);
await evictIdle();
const before = await heap();
await openSessions(N);
const open = await heap();
await evictIdle();
const evicted = await heap();
process.stdout.write(
  `sessions ${N}\n` +
    `heap bytes per idle session, hosted: ${Math.round((open - before) / N)}\n` +
    `heap bytes per idle session, evicted: ${Math.round((evicted - before) / N)} (${sessions.hosts.size} hosted)\n`,
);
await server.stop();
