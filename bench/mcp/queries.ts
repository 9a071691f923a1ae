// bench/mcp/queries: the SQL each tools/call costs, counted (not timed): every query the server's pool
// sends while a closed-loop load runs, grouped by statement, per call. Deterministic where throughput on
// a shared machine is not: the figure to check a change to the audit path or the read models by.
// Run: TEST_DATABASE_URL=postgres://… node --import tsx bench/mcp/queries.ts [seconds=3] [connections=10]
import pg from 'pg';
import { startTestServer } from '../../test/support/server.ts';
import { freshTokens } from '../../test/http/oauth/support.ts';
import { CALLS, runLoad } from './load.ts';
import { withBenchTools } from './server.ts';

const seconds = Number(process.argv[2] ?? 3);
const connections = Number(process.argv[3] ?? 10);

const counts = new Map<string, number>();
const original = pg.Client.prototype.query as (...args: unknown[]) => unknown;
(pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown }).query = function (
  this: pg.Client,
  ...args: unknown[]
) {
  const config = args[0] as string | { text?: string; name?: string };
  const text = typeof config === 'string' ? config : (config.text ?? config.name ?? '?');
  const key = text.replace(/\s+/g, ' ').trim().slice(0, 90);
  counts.set(key, (counts.get(key) ?? 0) + 1);
  return original.apply(this, args);
};

const server = await startTestServer({
  LOG_LEVEL: 'silent',
  MCP_RATE_LIMIT_PER_MINUTE: '1000000000',
  MCP_MAX_SESSIONS_PER_TOKEN: '100000',
  MCP_MAX_SESSIONS_PER_USER: '100000',
});
await withBenchTools(server);
const { tokens } = await freshTokens(server);
const auth = { authorization: `Bearer ${tokens.access_token}` };
const url = `${server.base}/mcp`;
const out = (line: string) => process.stdout.write(`${line}\n`);
for (const [name, call, era] of [
  ['echo, 2025-11-25', 'echo', 'legacy'],
  ['system_whoami, 2025-11-25', 'whoami', 'legacy'],
  ['echo, 2026-07-28', 'echo', 'modern'],
  ['system_whoami, 2026-07-28', 'whoami', 'modern'],
] as const) {
  await runLoad(url, auth, connections, 1, CALLS[call], era);
  // Let the read models catch up, then count from a quiet start.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  counts.clear();
  const result = await runLoad(url, auth, connections, seconds, CALLS[call], era);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const total = [...counts.values()].reduce((sum, n) => sum + n, 0);
  out(
    `\n${name}: ${result.requests} calls, ${result.errors} errors, ${(total / result.requests).toFixed(2)} queries per call`,
  );
  out('| queries per call | statement |');
  out('|---:|---|');
  for (const [text, n] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 15))
    out(`| ${(n / result.requests).toFixed(3)} | \`${text}\` |`);
}
await server.stop();
process.exit(0);
