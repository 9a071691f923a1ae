// bench/mcp/cpu: CPU time the server process spends per authenticated tools/call, RemoteMCP next to the
// bare SDK servers (v1 stateful for the 2025 era, v2 createMcpHandler for 2026-07-28), with the load
// generator in a child process (so only the server's work is counted).
// Throughput on a shared machine is noisy; CPU per call is the figure to compare changes by.
// Run: TEST_DATABASE_URL=postgres://… node --import tsx bench/mcp/cpu.ts [seconds=8] [connections=10] [rounds=2] [rows]
// `rows`: a comma-separated subset of the row keys (bare, echo, whoami, bare2, echo2, whoami2); all by default.
// PROFILE=dir also writes a V8 CPU profile of each measured round there (<row>-<round>.cpuprofile).
// When PostgreSQL runs on this machine (Linux), the CPU used per call by the backends serving the bench's
// own database is printed too: on a small machine it competes with the server for the same cores.
// (Backends of other databases are left out, so other work on the machine does not count; PostgreSQL's
// shared background processes, such as the WAL writer, are left out too.)
// The last column counts the server process's involuntary context switches per call: the higher it is, the
// more other work on the machine took the server's core mid-call, and the more that round's CPU figures are
// inflated (cold caches). Compare changes by rounds with similar counts.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';
import { startTestServer } from '../../test/support/server.ts';
import { freshTokens } from '../../test/http/oauth/support.ts';
import { startBareServer } from './bare.ts';
import { startBareModernServer } from './bare-modern.ts';
import type { CALLS, LoadResult } from './load.ts';
import { withBenchTools } from './server.ts';

const seconds = Number(process.argv[2] ?? 8);
const connections = Number(process.argv[3] ?? 10);
const rounds = Number(process.argv[4] ?? 2);
const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'load-process.ts');

/**
 * CPU time (µs) so far of each of this machine's PostgreSQL backends connected to `database`, by pid;
 * undefined where unreadable.
 */
const postgresCpu = (database: string): Map<string, number> | undefined => {
  try {
    const tick = 1_000_000 / 100; // USER_HZ: 100 on Linux
    const used = new Map<string, number>();
    for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      let stat: string;
      let title: string;
      try {
        stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        // A backend's title: "postgres: 15/main: <user> <database> <client> <state>".
        title = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue; // exited meanwhile
      }
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
      if (!title.split(' ').includes(database)) continue;
      const fields = stat.slice(close + 2).split(' ');
      used.set(pid, (Number(fields[11]) + Number(fields[12])) * tick); // utime, stime
    }
    return used;
  } catch {
    return undefined;
  }
};

/** CPU the backends used between two readings (a backend that exited in between is not counted). */
const postgresCpuBetween = (before: Map<string, number>, after: Map<string, number>): number => {
  let total = 0;
  for (const [pid, micros] of after) total += micros - (before.get(pid) ?? 0);
  return total;
};

const load = (
  url: string,
  headers: Record<string, string>,
  runSeconds: number,
  call: keyof typeof CALLS,
  era: 'legacy' | 'modern',
): Promise<LoadResult> =>
  new Promise((resolve, reject) => {
    const worker = fork(child, [], { execArgv: ['--import', 'tsx'] });
    worker.once('message', (result) => resolve(result as LoadResult));
    worker.once('error', reject);
    // A load that failed (a refused session, say) exits without a result: say so rather than wait forever.
    worker.once('exit', (code) => reject(new Error(`load process exited (${code}) without a result`)));
    worker.send({ url, headers, connections, seconds: runSeconds, call, era });
  });

const server = await startTestServer({
  LOG_LEVEL: 'silent',
  MCP_RATE_LIMIT_PER_MINUTE: '1000000000',
  // Every load opens its own sessions with one token.
  MCP_MAX_SESSIONS_PER_TOKEN: '100000',
  MCP_MAX_SESSIONS_PER_USER: '100000',
});
await withBenchTools(server);
const { tokens } = await freshTokens(server);
const bare = await startBareServer();
const bareModern = await startBareModernServer();
const database = new URL(server.env.DATABASE_URL ?? 'postgres://embedded/').pathname.slice(1);
const auth = { authorization: `Bearer ${tokens.access_token}` };
const mcpUrl = `${server.base}/mcp`;
const allTargets = [
  { key: 'bare', name: 'bare SDK v1, stateful', url: bare.url, headers: {}, call: 'echo', era: 'legacy' },
  { key: 'echo', name: 'remotemcp', url: mcpUrl, headers: auth, call: 'echo', era: 'legacy' },
  // A real product tool (scope check, audit event, user read model): RemoteMCP only.
  { key: 'whoami', name: 'remotemcp, system_whoami', url: mcpUrl, headers: auth, call: 'whoami', era: 'legacy' },
  {
    key: 'bare2',
    name: 'bare SDK v2, createMcpHandler',
    url: bareModern.url,
    headers: {},
    call: 'echo',
    era: 'modern',
  },
  { key: 'echo2', name: 'remotemcp 2026-07-28', url: mcpUrl, headers: auth, call: 'echo', era: 'modern' },
  {
    key: 'whoami2',
    name: 'remotemcp 2026-07-28, system_whoami',
    url: mcpUrl,
    headers: auth,
    call: 'whoami',
    era: 'modern',
  },
] as const;
const only = process.argv[5]?.split(',');
const targets = only ? allTargets.filter((target) => only.includes(target.key)) : allTargets;

const profiler = process.env.PROFILE ? new Session() : undefined;
profiler?.connect();
const out = (line: string) => process.stdout.write(`${line}\n`);
out(
  `\nserver CPU per tools/call (bench_echo unless named), ${connections} connections, ${seconds}s rounds, load generator in a child process`,
);
out(
  '| server | round | requests/s | errors | CPU µs per call | user | system | PostgreSQL CPU µs per call | preempted per call |',
);
out('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const { url, headers, call, era } of targets) await load(url, headers, 3, call, era);
for (let round = 1; round <= rounds; round += 1) {
  for (const { key, name, url, headers, call, era } of targets) {
    if (profiler) {
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    const postgresBefore = postgresCpu(database);
    const before = process.cpuUsage();
    const switchesBefore = process.resourceUsage().involuntaryContextSwitches;
    const result = await load(url, headers, seconds, call, era);
    const used = process.cpuUsage(before);
    const preempted = process.resourceUsage().involuntaryContextSwitches - switchesBefore;
    const postgresAfter = postgresCpu(database);
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      fs.writeFileSync(path.join(process.env.PROFILE!, `${key}-${round}.cpuprofile`), JSON.stringify(profile));
    }
    const per = (micros: number) => Math.round(micros / result.requests);
    const postgres =
      postgresBefore && postgresAfter ? String(per(postgresCpuBetween(postgresBefore, postgresAfter))) : 'n/a';
    out(
      `| ${name} | ${round} | ${result.perSecond} | ${result.errors} | ${per(used.user + used.system)} | ${per(used.user)} | ${per(used.system)} | ${postgres} | ${(preempted / result.requests).toFixed(2)} |`,
    );
  }
}
await bare.close();
await bareModern.close();
await server.stop();
process.exit(0);
