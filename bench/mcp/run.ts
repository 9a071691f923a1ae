// bench/mcp: authenticated tools/call throughput and latency on the real server (real OAuth token, Koa,
// event-sourced sessions: every SSE message is an appended event) side by side with a bare MCP SDK server
// in the same process and run; then the latency of resuming a stream that missed 100 messages.
// Run: node --import tsx bench/mcp/run.ts [seconds=5] [connections=10,50]
// (Embedded PGlite unless TEST_DATABASE_URL is set. Warm-up before each measurement: NOTES.md.)
import { createMcp } from '../../mcp/index.ts';
import { MCP_READ } from '../../domain/scopes.ts';
import { startTestServer } from '../../test/support/server.ts';
import { freshTokens } from '../../test/oauth/support.ts';
import { StandInTokens, readSse } from '../../test/mcp/support.ts';
import { callTool, openSession as openRaw, sessionHeaders, waitForResponse } from '../../test/mcp/raw.ts';
import { startBareServer } from './bare.ts';
import { runLoad, WHOAMI, type LoadResult } from './load.ts';
import { registerBenchTools } from './tools.ts';

const seconds = Number(process.argv[2] ?? 5);
const connectionCounts = (process.argv[3] ?? '10,50').split(',').map(Number);
const WARM_UP_SECONDS = 2;

// Rate limits off: the bench measures throughput, one token on many connections.
const server = await startTestServer({ LOG_LEVEL: 'silent', MCP_RATE_LIMIT_PER_MINUTE: '1000000000' });
const { services } = server;
const previous = services.mcp;
// The product's MCP layer with the real token verifier; the bench tools ride along with the registry's.
// BENCH_VERIFIER=local: a jose-only verifier (no revocation lookup), to separate that cost (diagnosis only).
const local = process.env.BENCH_VERIFIER === 'local' ? await StandInTokens.create() : undefined;
services.mcp = await createMcp(services, local ? { verifier: local } : services.oauth, {
  register: (mcp, caller) => {
    services.tools.register(mcp, caller);
    registerBenchTools(mcp);
  },
  requiredScope: (name) => (name.startsWith('bench_') ? MCP_READ : services.tools.requiredScope(name)),
});
await previous.close();
const tokens = local ? { access_token: (await local.issue({ sub: 'bench', aud: `${server.base}/mcp` })).token } : (await freshTokens(server)).tokens;
const auth = { authorization: `Bearer ${tokens.access_token}` };
const bare = await startBareServer();

const rows: (LoadResult & { server: string; perCommit?: number })[] = [];
const commits = services.groupCommit.stats;
for (const connections of connectionCounts) {
  const targets = [['bare SDK', bare.url, {}, undefined], ['remotemcp', `${server.base}/mcp`, auth, undefined], ['remotemcp, system_whoami', `${server.base}/mcp`, auth, WHOAMI]] as const;
  for (const [name, url, headers, call] of targets) {
    await runLoad(url, headers, connections, WARM_UP_SECONDS, call);
    const before = commits.commits;
    const result = await runLoad(url, headers, connections, seconds, call);
    // Requests whose messages shared one group commit (one appendMany statement).
    rows.push({ server: name, ...result, ...(name === 'bare SDK' ? {} : { perCommit: result.requests / Math.max(1, commits.commits - before) }) });
  }
}
const out = (line: string) => process.stdout.write(`${line}\n`);
out(`\ntools/call (bench_echo unless named), ${seconds}s per row after ${WARM_UP_SECONDS}s warm-up, database: ${services.db.embedded ? 'embedded PGlite' : 'PostgreSQL server'}`);
out('| server | connections | requests/s | p50 ms | p99 ms | errors | vs bare | requests per commit |');
out('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const row of rows) {
  const base = rows.find((other) => other.server === 'bare SDK' && other.connections === row.connections)!;
  out(`| ${row.server} | ${row.connections} | ${row.perSecond} | ${row.p50.toFixed(2)} | ${row.p99.toFixed(2)} | ${row.errors} | ${(row.perSecond / base.perSecond).toFixed(2)}× | ${row.perCommit ? row.perCommit.toFixed(1) : ''} |`);
}

// Resumption: a client drops right after the priming event of a call that sends 100 notifications,
// then reconnects with Last-Event-ID; measured from the GET until the replayed response has arrived.
const samples: number[] = [];
for (let i = 0; i < 20; i += 1) {
  const sessionId = await openRaw(server.base, tokens.access_token);
  const headers = sessionHeaders(tokens.access_token, sessionId);
  const call = await callTool(server.base, tokens.access_token, sessionId, 1, 'bench_burst', { count: 100 });
  const [priming] = await readSse(call, (events) => events.length === 1);
  await waitForResponse(server, sessionId, 1);
  const started = performance.now();
  const resumed = await fetch(`${server.base}/mcp`, { headers: { ...headers, accept: 'text/event-stream', 'last-event-id': priming!.id! } });
  const replayed = await readSse(resumed);
  samples.push(performance.now() - started);
  if (replayed.length !== 101) throw new Error(`expected 101 replayed messages, got ${replayed.length}`);
}
samples.sort((a, b) => a - b);
out(`\nresume after 100 missed messages (GET with Last-Event-ID until the response), 20 runs: p50 ${samples[10]!.toFixed(1)} ms, max ${samples[19]!.toFixed(1)} ms`);

await bare.close();
await server.stop();
process.exit(0);
