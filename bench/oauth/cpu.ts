// bench/oauth/cpu: CPU the server process (and this machine's PostgreSQL) spends per token request, by
// grant: client_credentials, authorization_code + PKCE exchange, refresh rotation. The load generator
// runs in a child process (cpu-load.ts), so only the server's work is counted. On a shared machine CPU
// per request is the figure to compare changes by; requests/s moves with the neighbours' load.
// Run: TEST_DATABASE_URL=postgres://… node --import tsx bench/oauth/cpu.ts [seconds=4] [connections=10] [rounds=2]
// PROFILE=dir also writes a V8 CPU profile of each measured round there (<grant>-<round>.cpuprofile).
// GRANTS=client_credentials,refresh_token measures only those grants.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { MCP_READ } from '../../domain/scopes.ts';
import { startTestServer } from '../../test/support/server.ts';
import type { CpuResult, CpuTask } from './cpu-load.ts';
import { approvedCode, REDIRECT, registerPublicClient } from './setup.ts';

const seconds = Number(process.argv[2] ?? 4);
const connections = Number(process.argv[3] ?? 10);
const rounds = Number(process.argv[4] ?? 2);
const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cpu-load.ts');

/**
 * CPU time (µs) of the PostgreSQL backends serving this server's database, from /proc (Linux; PostgreSQL on
 * this machine): other databases on the same server (other work on a shared machine) are left out.
 * Undefined where unreadable. A backend that exits during a round loses its share (the pool keeps them).
 */
const backendCpu = async (): Promise<Map<number, number> | undefined> => {
  const { rows } = await server.services.db.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database()',
  );
  const used = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      used.set(pid, (Number(fields[11]) + Number(fields[12])) * 10_000); // utime + stime; USER_HZ is 100
    } catch {
      return undefined;
    }
  }
  return used;
};
const backendCpuSince = (before: Map<number, number>, after: Map<number, number>) =>
  [...after].reduce((sum, [pid, micros]) => sum + micros - (before.get(pid) ?? 0), 0);

/** Statements this process sent, by their first words (QUERIES=1 prints them per request). */
const statements = new Map<string, number>();
if (process.env.QUERIES) {
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string };
    const text = (typeof first === 'string' ? first : (first?.text ?? '?')).replace(/\s+/g, ' ').slice(0, 90);
    statements.set(text, (statements.get(text) ?? 0) + 1);
    return query.apply(this, args);
  } as typeof pg.Client.prototype.query;
}

const load = (task: CpuTask): Promise<CpuResult> =>
  new Promise((resolve, reject) => {
    const worker = fork(child, [], { execArgv: ['--import', 'tsx'] });
    worker.once('message', (result) => resolve(result as CpuResult));
    worker.once('error', reject);
    worker.send(task);
  });

const server = await startTestServer({ LOG_LEVEL: 'silent', OAUTH_RATE_LIMIT_PER_MINUTE: '1000000000' });
const { oauth, users } = server.services;
const tokenUrl = `${server.base}/oauth/token`;
const machine = await oauth.createMachineClient(
  { name: 'bench', userEmail: 'bench-bot@example.com', scopes: [MCP_READ] },
  { type: 'system', id: 'bench' },
);
const publicClient = await registerPublicClient(oauth, 'bench-public');
const admin = (await users.byEmail(server.adminEmail))!;

/** Code exchange forms, made through the application service as the consent page's approval does. */
const codeForms = async (count: number) => {
  const forms: Record<string, string>[] = [];
  while (forms.length < count) {
    forms.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(connections, count - forms.length) }, async () => {
          const { code, verifier } = await approvedCode(oauth, publicClient.clientId, admin.id);
          return {
            grant_type: 'authorization_code',
            code,
            code_verifier: verifier,
            redirect_uri: REDIRECT,
            client_id: publicClient.clientId,
          };
        }),
      )),
    );
  }
  return forms;
};

const refreshForms = async () =>
  Promise.all(
    (await codeForms(connections)).map(async (form) => {
      const tokens = await oauth.tokens.exchangeCode(publicClient, {
        code: form.code!,
        redirectUri: REDIRECT,
        codeVerifier: form.code_verifier,
        resource: undefined,
      });
      return { grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: publicClient.clientId };
    }),
  );

/** Codes per slice: enough for the slice on a quiet machine; a slice that spends them ends early. */
const CODES = Math.max(500, seconds * 400);
const grants: { name: string; task(runSeconds: number): Promise<CpuTask> }[] = [
  {
    name: 'client_credentials',
    task: async (runSeconds) => ({
      url: tokenUrl,
      connections,
      seconds: runSeconds,
      authorization: `Basic ${Buffer.from(`${machine.client.clientId}:${machine.clientSecret}`).toString('base64')}`,
      forms: { every: { grant_type: 'client_credentials', scope: MCP_READ } },
    }),
  },
  {
    name: 'authorization_code',
    task: async (runSeconds) => ({
      url: tokenUrl,
      connections,
      seconds: runSeconds,
      forms: { once: await codeForms(Math.round((CODES * runSeconds) / seconds)) },
    }),
  },
  {
    name: 'refresh_token',
    task: async (runSeconds) => ({
      url: tokenUrl,
      connections,
      seconds: runSeconds,
      forms: { rotate: await refreshForms() },
    }),
  },
];

const only = process.env.GRANTS?.split(',');
const measured = only ? grants.filter((grant) => only.includes(grant.name)) : grants;
const profiler = process.env.PROFILE ? new Session() : undefined;
profiler?.connect();
const out = (line: string) => process.stdout.write(`${line}\n`);
out(`\nserver CPU per token request, ${connections} connections, ${seconds}s rounds, load in a child process`);
out('| grant | round | requests/s | errors | CPU µs per request | user | system | PostgreSQL CPU µs per request |');
out('|---|---:|---:|---:|---:|---:|---:|---:|');
// Warm-up: a cold process is slow for its first thousands of requests (JIT).
for (const grant of measured) await load(await grant.task(3));
for (let round = 1; round <= rounds; round += 1) {
  for (const grant of measured) {
    const task = await grant.task(seconds);
    if (profiler) {
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    const postgresBefore = server.services.db.embedded ? undefined : await backendCpu();
    // PIDS_FILE: the backends' pids, for a profiler of PostgreSQL itself (perf record -p).
    if (process.env.PIDS_FILE && postgresBefore)
      fs.writeFileSync(process.env.PIDS_FILE, [...postgresBefore.keys()].join(','));
    statements.clear();
    const before = process.cpuUsage();
    const result = await load(task);
    const used = process.cpuUsage(before);
    const postgresAfter = postgresBefore && (await backendCpu());
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      fs.writeFileSync(path.join(process.env.PROFILE!, `${grant.name}-${round}.cpuprofile`), JSON.stringify(profile));
    }
    const per = (micros: number) => Math.round(micros / result.requests);
    const postgres =
      postgresBefore && postgresAfter ? String(per(backendCpuSince(postgresBefore, postgresAfter))) : 'n/a';
    out(
      `| ${grant.name} | ${round} | ${Math.round(result.requests / result.seconds)} | ${result.errors} | ${per(used.user + used.system)} | ${per(used.user)} | ${per(used.system)} | ${postgres} |`,
    );
    for (const [text, count] of [...statements].sort((a, b) => b[1] - a[1]))
      out(`|   ${(count / result.requests).toFixed(2)} per request: \`${text}\` | | | | | | | |`);
  }
}
await server.stop();
process.exit(0);
