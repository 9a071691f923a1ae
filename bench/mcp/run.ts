// bench/mcp: authenticated tools/call throughput and latency on the real server (real OAuth token, Koa,
// event-sourced sessions: every SSE message is an appended event) side by side with a bare MCP SDK server
// in the same process and run; then the latency of resuming a stream that missed 100 messages, and the
// CPU a call spends sealing and opening its personal fields (bench/mcp/sealing.ts).
// Run: node --import tsx bench/mcp/run.ts [seconds=5] [connections=10,50] [rounds=10]
// Each row's seconds are split into `rounds` short slices, the servers taking turns (the first of a
// round rotates), so a machine whose speed drifts during the run slows all rows alike; "vs bare" is the
// median over the rounds of the row's requests to the bare server's in the same round.
// (Embedded PGlite unless TEST_DATABASE_URL is set. Warm-up before each measurement: a cold process is slow at first.)
// The `system_whoami` rows' "vs echo" is the median per-round ratio to RemoteMCP's own bench_echo row of
// the same era; bench/mcp/cpu.ts prints the PostgreSQL CPU per call of each row. "Sealed vs in clear" is
// the median per-round ratio of a RemoteMCP row to the same call on a second server, in its own database,
// that stores personal fields in clear: what crypto-shredding costs a call.
import { startTestServer } from '../../test/support/server.ts';
import { freshTokens } from '../../test/http/oauth/support.ts';
import { StandInTokens, readSse } from '../../test/mcp/support.ts';
import { callTool, openSession as openRaw, sessionHeaders, waitForResponse } from '../../test/mcp/raw.ts';
import { startBareServer } from './bare.ts';
import { startBareModernServer } from './bare-modern.ts';
import { connect, drive, percentile, ECHO, WHOAMI, type LoadCall } from './load.ts';
import { withBenchTools } from './server.ts';
import { sealingCpuPerCall } from './sealing.ts';
import type { EncryptingLog } from '../../eventstore/encrypting.ts';

const seconds = Number(process.argv[2] ?? 5);
const connectionCounts = (process.argv[3] ?? '10,50').split(',').map(Number);
const rounds = Number(process.argv[4] ?? 10);
const WARM_UP_SECONDS = 2;

// Rate limits off: the bench measures throughput, one token on many connections.
const benchEnv = {
  LOG_LEVEL: 'silent',
  MCP_RATE_LIMIT_PER_MINUTE: '1000000000',
  // Every row opens its own sessions with one token.
  MCP_MAX_SESSIONS_PER_TOKEN: '1000',
  MCP_MAX_SESSIONS_PER_USER: '1000',
};
const server = await startTestServer(benchEnv);
// The same server storing personal fields in clear, in its own database: what sealing costs a call.
const clear = await startTestServer(benchEnv, { sealPersonalData: false });
const { services } = server;
// BENCH_VERIFIER=local: a jose-only verifier (no revocation lookup), to separate that cost (diagnosis only).
const local = process.env.BENCH_VERIFIER === 'local' ? await StandInTokens.create() : undefined;
await withBenchTools(server, local);
const tokens = local
  ? { access_token: (await local.issue({ sub: 'bench', aud: `${server.base}/mcp` })).token }
  : (await freshTokens(server)).tokens;
const auth = { authorization: `Bearer ${tokens.access_token}` };
await withBenchTools(clear);
const clearAuth = { authorization: `Bearer ${(await freshTokens(clear)).tokens.access_token}` };
const bare = await startBareServer();
const bareModern = await startBareModernServer();

type Row = {
  era: string;
  server: string;
  connections: number;
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
  vsBare: number;
  /** system_whoami rows: against RemoteMCP's own bench_echo row of the era, in the same rounds. */
  vsEcho?: number;
  /** RemoteMCP's rows: against the same call on the server storing personal fields in clear. */
  vsClear?: number;
  perCommit?: number;
};
const rows: Row[] = [];
const commits = services.groupCommit.stats;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
for (const connections of connectionCounts) {
  // Each era against its own baseline: 2025-11-25 sessions vs the bare v1 stateful server, 2026-07-28
  // stateless requests vs the bare v2 createMcpHandler server.
  type Era = 'legacy' | 'modern';
  type Target = {
    era: Era;
    name: string;
    url: string;
    headers: Record<string, string>;
    call: LoadCall;
    /** RemoteMCP's rows: sealing personal fields, or the second server storing them in clear. */
    stored?: 'sealed' | 'clear';
  };
  const remotemcp = (era: Era, stored: 'sealed' | 'clear', call: LoadCall): Target => ({
    era,
    name: `remotemcp${stored === 'clear' ? ' in clear' : ''}${call === WHOAMI ? ', system_whoami' : ''}`,
    url: `${(stored === 'clear' ? clear : server).base}/mcp`,
    headers: stored === 'clear' ? clearAuth : auth,
    call,
    stored,
  });
  // The first six in this order: the eras' baselines and echoes are found by index below.
  const targets: Target[] = [
    { era: 'legacy', name: 'bare SDK v1, stateful', url: bare.url, headers: {}, call: ECHO },
    remotemcp('legacy', 'sealed', ECHO),
    remotemcp('legacy', 'sealed', WHOAMI),
    { era: 'modern', name: 'bare SDK v2, createMcpHandler', url: bareModern.url, headers: {}, call: ECHO },
    remotemcp('modern', 'sealed', ECHO),
    remotemcp('modern', 'sealed', WHOAMI),
    ...(['legacy', 'modern'] as const).flatMap((era) => [
      remotemcp(era, 'clear', ECHO),
      remotemcp(era, 'clear', WHOAMI),
    ]),
  ];
  const runs = await Promise.all(
    targets.map(async (target) => ({
      target,
      clients: await connect(target.url, target.headers, connections, target.era),
      latencies: [] as number[],
      requests: [] as number[],
      errors: 0,
      commits: 0,
    })),
  );
  for (const run of runs) await drive(run.clients, WARM_UP_SECONDS, run.target.call, []);
  const slice = seconds / rounds;
  for (let round = 0; round < rounds; round += 1) {
    for (let turn = 0; turn < runs.length; turn += 1) {
      const run = runs[(round + turn) % runs.length]!;
      const before = commits.commits;
      const result = await drive(run.clients, slice, run.target.call, run.latencies);
      run.requests.push(result.requests);
      run.errors += result.errors;
      run.commits += commits.commits - before;
    }
  }
  const baselines = { legacy: runs[0]!, modern: runs[3]! };
  const echoes = { legacy: runs[1]!, modern: runs[4]! };
  const inClear = (target: Target) =>
    runs.find(
      ({ target: other }) => other.stored === 'clear' && other.era === target.era && other.call === target.call,
    )!;
  for (const run of runs) {
    const bareRun = baselines[run.target.era];
    run.clients.agent.destroy();
    run.latencies.sort((a, b) => a - b);
    const total = run.requests.reduce((sum, n) => sum + n, 0);
    rows.push({
      era: run.target.era === 'legacy' ? '2025-11-25' : '2026-07-28',
      server: run.target.name,
      connections,
      perSecond: Math.round(total / seconds),
      p50: percentile(run.latencies, 50),
      p99: percentile(run.latencies, 99),
      errors: run.errors,
      vsBare: median(run.requests.map((n, round) => n / bareRun.requests[round]!)),
      ...(run.target.call === WHOAMI && run.target.stored === 'sealed'
        ? { vsEcho: median(run.requests.map((n, round) => n / echoes[run.target.era].requests[round]!)) }
        : {}),
      ...(run.target.stored === 'sealed'
        ? { vsClear: median(run.requests.map((n, round) => n / inClear(run.target).requests[round]!)) }
        : {}),
      // Requests whose messages shared one group commit (one appendMany statement); the sealed server's count.
      ...(run.target.stored === 'sealed' ? { perCommit: total / Math.max(1, run.commits) } : {}),
    });
  }
}
const out = (line: string) => process.stdout.write(`${line}\n`);
out(
  `\ntools/call (bench_echo unless named), ${seconds}s per row in ${rounds} slices taking turns after ${WARM_UP_SECONDS}s warm-up, database: ${services.db.embedded ? 'embedded PGlite' : 'PostgreSQL server'}`,
);
out(
  "| era | server | connections | requests/s | p50 ms | p99 ms | errors | vs the era's bare SDK (median of rounds) | vs our echo | sealed vs in clear | requests per commit |",
);
out('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const row of rows) {
  out(
    `| ${row.era} | ${row.server} | ${row.connections} | ${row.perSecond} | ${row.p50.toFixed(2)} | ${row.p99.toFixed(2)} | ${row.errors} | ${row.vsBare.toFixed(2)}× | ${row.vsEcho ? `${row.vsEcho.toFixed(2)}×` : ''} | ${row.vsClear ? `${row.vsClear.toFixed(2)}×` : ''} | ${row.perCommit ? row.perCommit.toFixed(1) : ''} |`,
  );
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
  const resumed = await fetch(`${server.base}/mcp`, {
    headers: { ...headers, accept: 'text/event-stream', 'last-event-id': priming!.id! },
  });
  const replayed = await readSse(resumed);
  samples.push(performance.now() - started);
  if (replayed.length !== 101) throw new Error(`expected 101 replayed messages, got ${replayed.length}`);
}
samples.sort((a, b) => a - b);
out(
  `\nresume after 100 missed messages (GET with Last-Event-ID until the response), 20 runs: p50 ${samples[10]!.toFixed(1)} ms, max ${samples[19]!.toFixed(1)} ms`,
);

// Crypto-shredding: the CPU one call spends sealing and opening what it stores (bench/mcp/sealing.ts).
const sealing = await sealingCpuPerCall(services.log as EncryptingLog);
out(
  `\nsealing what one tools/call stores (ToolCalled + result message), CPU per call: ${sealing.plainUs.toFixed(1)} µs as plain JSON, ${sealing.sealUs.toFixed(1)} µs sealed (+${(sealing.sealUs - sealing.plainUs).toFixed(1)} µs), ${sealing.openUs.toFixed(1)} µs to open both on another instance, ${sealing.openOwnUs.toFixed(1)} µs on this one (the plaintexts it kept)`,
);

await bare.close();
await bareModern.close();
await server.stop();
await clear.stop();
process.exit(0);
