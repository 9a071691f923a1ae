// bench/soak: N concurrent MCP sessions doing tool calls for a bounded time against two instances on
// one PostgreSQL database behind a round-robin proxy (loopback only). Prints calls, errors, p50/p99
// and each instance's RSS over time (a growth trend would show a leak).
// Run: TEST_DATABASE_URL=postgres://… node --import tsx bench/soak/run.ts [seconds=60] [sessions=50]
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { serverUrl } from '../../test/support/databases.ts';
import { startCluster } from '../../test/support/cluster.ts';

const seconds = Number(process.argv[2] ?? 60);
const sessions = Number(process.argv[3] ?? 50);
if (!serverUrl()) {
  process.stdout.write('bench/soak: skipped: TEST_DATABASE_URL not set (two instances need a PostgreSQL server)\n');
  process.exit(0);
}
const cluster = await startCluster();
const url = new URL('/mcp', cluster.base);
const latencies: number[] = [];
const errors = new Map<string, number>();
const rss: { t: number; a: number; b: number }[] = [];
const started = Date.now();
const sample = () =>
  rss.push({
    t: Math.round((Date.now() - started) / 1_000),
    a: cluster.instances[0]!.rssMb(),
    b: cluster.instances[1]!.rssMb(),
  });
sample();
const sampler = setInterval(sample, Math.max(1_000, (seconds * 1_000) / 10));
const TOOLS = [
  { name: 'system_whoami', arguments: {} },
  { name: 'memory_store', arguments: { title: 'soak', content: 'a memory written by the soak test', tags: ['soak'] } },
  { name: 'memory_search', arguments: { query: 'soak memory' } },
  { name: 'fs_list_allowed_directories', arguments: {} },
];
const worker = async (index: number) => {
  const client = new Client({ name: `soak-${index}`, version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(url, {
    requestInit: { headers: { authorization: `Bearer ${cluster.token}` } },
  });
  await client.connect(transport);
  let call = index;
  while (Date.now() - started < seconds * 1_000) {
    const tool = TOOLS[call++ % TOOLS.length]!;
    const begin = performance.now();
    try {
      const result = await client.callTool(tool);
      if (result.isError) errors.set(`${tool.name}: isError`, (errors.get(`${tool.name}: isError`) ?? 0) + 1);
      else latencies.push(performance.now() - begin);
    } catch (error) {
      const key = `${tool.name}: ${(error as Error).message.slice(0, 80)}`;
      errors.set(key, (errors.get(key) ?? 0) + 1);
    }
  }
  await transport.terminateSession().catch(() => undefined);
  await client.close();
};
await Promise.all(Array.from({ length: sessions }, (_, i) => worker(i)));
clearInterval(sampler);
sample();
await cluster.close();
latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  (latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0).toFixed(1);
const errorCount = [...errors.values()].reduce((a, b) => a + b, 0);
process.stdout.write(
  `\nsoak: ${sessions} sessions, ${seconds}s, two instances behind a round-robin proxy, PostgreSQL server\n`,
);
process.stdout.write(
  `| calls | calls/s | errors | p50 ms | p99 ms |\n|---:|---:|---:|---:|---:|\n| ${latencies.length} | ${Math.round(latencies.length / seconds)} | ${errorCount} | ${pct(50)} | ${pct(99)} |\n\n`,
);
process.stdout.write(
  `RSS (MiB) over time:\n| t (s) | instance A | instance B |\n|---:|---:|---:|\n${rss.map((r) => `| ${r.t} | ${r.a} | ${r.b} |`).join('\n')}\n`,
);
for (const [key, count] of errors) process.stdout.write(`error ×${count}: ${key}\n`);
process.exit(errorCount === 0 ? 0 : 1);
