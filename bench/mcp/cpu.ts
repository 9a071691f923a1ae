// bench/mcp/cpu: CPU time the server process spends per authenticated tools/call, RemoteMCP next to the
// bare SDK server, with the load generator in a child process (so only the server's work is counted).
// Throughput on a shared machine is noisy; CPU per call is the figure to compare changes by.
// Run: TEST_DATABASE_URL=postgres://… node --import tsx bench/mcp/cpu.ts [seconds=8] [connections=10] [rounds=2]
// PROFILE=dir also writes a V8 CPU profile of each measured round there (<server>-<round>.cpuprofile).
// When PostgreSQL runs on this machine (Linux), the CPU its processes used per call is printed too:
// on a small machine it competes with the server for the same cores.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';
import { createMcp } from '../../mcp/index.ts';
import { MCP_READ } from '../../domain/scopes.ts';
import { startTestServer } from '../../test/support/server.ts';
import { freshTokens } from '../../test/http/oauth/support.ts';
import { startBareServer } from './bare.ts';
import type { CALLS, LoadResult } from './load.ts';
import { registerBenchToolsBeside } from './tools.ts';

const seconds = Number(process.argv[2] ?? 8);
const connections = Number(process.argv[3] ?? 10);
const rounds = Number(process.argv[4] ?? 2);
const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'load-process.ts');

/** CPU time (µs) of this machine's PostgreSQL processes so far, from /proc; undefined where unreadable. */
const postgresCpu = (): number | undefined => {
  try {
    const tick = 1_000_000 / 100; // USER_HZ: 100 on Linux
    let total = 0;
    for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      let stat: string;
      try {
        stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue; // exited meanwhile
      }
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
      const fields = stat.slice(close + 2).split(' ');
      // utime, stime, and cutime, cstime: the postmaster's include the backends that have exited.
      total += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * tick;
    }
    return total;
  } catch {
    return undefined;
  }
};

const load = (
  url: string,
  headers: Record<string, string>,
  runSeconds: number,
  call: keyof typeof CALLS,
): Promise<LoadResult> =>
  new Promise((resolve, reject) => {
    const worker = fork(child, [], { execArgv: ['--import', 'tsx'] });
    worker.once('message', (result) => resolve(result as LoadResult));
    worker.once('error', reject);
    worker.send({ url, headers, connections, seconds: runSeconds, call });
  });

const server = await startTestServer({ LOG_LEVEL: 'silent', MCP_RATE_LIMIT_PER_MINUTE: '1000000000' });
const { services } = server;
const previous = services.mcp;
services.mcp = await createMcp(services, services.oauth, {
  ...services.tools,
  register: (mcp, caller) => {
    services.tools.register(mcp, caller);
    registerBenchToolsBeside(mcp);
  },
  requiredScope: (name) => (name.startsWith('bench_') ? MCP_READ : services.tools.requiredScope(name)),
});
await previous.close();
const { tokens } = await freshTokens(server);
const bare = await startBareServer();
const auth = { authorization: `Bearer ${tokens.access_token}` };
const targets = [
  ['bare SDK', bare.url, {}, 'echo'],
  ['remotemcp', `${server.base}/mcp`, auth, 'echo'],
  // A real product tool (scope check, audit event, user read model): RemoteMCP only.
  ['remotemcp, system_whoami', `${server.base}/mcp`, auth, 'whoami'],
] as const;

const profiler = process.env.PROFILE ? new Session() : undefined;
profiler?.connect();
const out = (line: string) => process.stdout.write(`${line}\n`);
out(
  `\nserver CPU per tools/call (bench_echo unless named), ${connections} connections, ${seconds}s rounds, load generator in a child process`,
);
out('| server | round | requests/s | CPU µs per call | user | system | PostgreSQL CPU µs per call |');
out('|---|---:|---:|---:|---:|---:|---:|');
for (const [, url, headers, call] of targets) await load(url, headers, 3, call);
for (let round = 1; round <= rounds; round += 1) {
  for (const [name, url, headers, call] of targets) {
    if (profiler) {
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    const postgresBefore = postgresCpu();
    const before = process.cpuUsage();
    const result = await load(url, headers, seconds, call);
    const used = process.cpuUsage(before);
    const postgresAfter = postgresCpu();
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      fs.writeFileSync(
        path.join(
          process.env.PROFILE!,
          `${{ 'bare SDK': 'bare', remotemcp: 'remotemcp', 'remotemcp, system_whoami': 'whoami' }[name]}-${round}.cpuprofile`,
        ),
        JSON.stringify(profile),
      );
    }
    const per = (micros: number) => Math.round(micros / result.requests);
    const postgres =
      postgresBefore !== undefined && postgresAfter !== undefined ? String(per(postgresAfter - postgresBefore)) : 'n/a';
    out(
      `| ${name} | ${round} | ${result.perSecond} | ${per(used.user + used.system)} | ${per(used.user)} | ${per(used.system)} | ${postgres} |`,
    );
  }
}
await bare.close();
await server.stop();
process.exit(0);
