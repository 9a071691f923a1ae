// Token endpoint throughput on loopback: authorization_code exchanges and refresh_token rotations over
// real HTTP against the real server, N requests at concurrency C; prints requests/s, p50 and p99.
// Usage: node --import tsx bench/oauth/token.ts [--requests 2000] [--concurrency 16] [--database-url postgres://…/scratch]
// Codes are prepared through the application service (login and consent are not what is measured).
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../app/config.ts';
import { createLogger } from '../../app/logger.ts';
import { startServer } from '../../app/server.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '16' },
    'database-url': { type: 'string' },
  },
});
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);
const REDIRECT = 'http://127.0.0.1:9/callback';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-bench-oauth-'));
const config = loadConfig({
  PORT: '0',
  DATA_DIR: dataDir,
  LOG_LEVEL: 'silent',
  ADMIN_PASSWORD: 'bench-password-1',
  OAUTH_RATE_LIMIT_PER_MINUTE: '1000000000',
  ...(values['database-url'] ? { DATABASE_URL: values['database-url'] } : {}),
});
const running = await startServer(config, createLogger('silent'));
const base = running.url;
const { oauth, users } = running.services;
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

const post = async (form: Record<string, string>) => {
  const response = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  const body = (await response.json()) as Record<string, string>;
  if (response.status !== 200) throw new Error(`token endpoint answered ${response.status}: ${JSON.stringify(body)}`);
  return body;
};

/** Runs `count` jobs at CONCURRENCY, returning per-request latencies (ms) and wall time. */
const run = async (count: number, job: (i: number) => Promise<unknown>) => {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < count; i = next++) {
        const t = performance.now();
        await job(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { latencies: latencies.sort((a, b) => a - b), seconds: (performance.now() - started) / 1_000 };
};

try {
  const { client } = await oauth.clients.register(
    {
      clientName: 'bench',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code', 'refresh_token'],
      tokenEndpointAuthMethod: 'none',
      applicationType: 'web',
    },
    'dynamic',
    { type: 'system', id: 'bench' },
  );
  const admin = (await users.byEmail(config.adminEmail))!;
  const prepare = async () => {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const { request } = await oauth.authorizations.begin({
      response_type: 'code',
      client_id: client.clientId,
      redirect_uri: REDIRECT,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const location = new URL(await oauth.authorizations.approve(request, admin.id, new Date(), false));
    return { code: location.searchParams.get('code')!, verifier };
  };
  const WARMUP = Math.min(200, REQUESTS);
  const codes: { code: string; verifier: string }[] = [];
  for (let i = 0; i < REQUESTS + WARMUP; i += CONCURRENCY)
    codes.push(...(await Promise.all(Array.from({ length: Math.min(CONCURRENCY, REQUESTS + WARMUP - i) }, prepare))));
  const exchange = (i: number) =>
    post({
      grant_type: 'authorization_code',
      code: codes[i]!.code,
      code_verifier: codes[i]!.verifier,
      redirect_uri: REDIRECT,
      client_id: client.clientId,
    });
  // Warm-up (JIT) on codes of their own, not measured.
  await run(WARMUP, (i) => exchange(REQUESTS + i));
  const refreshTokens: string[] = [];
  const codeRun = await run(REQUESTS, async (i) => refreshTokens.push((await exchange(i)).refresh_token!));
  const refreshRun = await run(REQUESTS, async (i) => {
    const slot = i % refreshTokens.length;
    refreshTokens[slot] = (
      await post({ grant_type: 'refresh_token', refresh_token: refreshTokens[slot]!, client_id: client.clientId })
    ).refresh_token!;
  });
  const row = (label: string, r: { latencies: number[]; seconds: number }) =>
    `| ${label.padEnd(20)} | ${String(REQUESTS).padStart(8)} | ${String(CONCURRENCY).padStart(11)} | ${(REQUESTS / r.seconds).toFixed(0).padStart(7)} | ${percentile(r.latencies, 50).toFixed(1).padStart(7)} | ${percentile(r.latencies, 99).toFixed(1).padStart(7)} |`;
  process.stdout.write(
    [
      `token endpoint on ${config.databaseUrl ? 'PostgreSQL server' : 'embedded PGlite'}, loopback HTTP`,
      '| grant                | requests | concurrency |   req/s | p50 ms  | p99 ms  |',
      '|----------------------|----------|-------------|---------|---------|---------|',
      row('authorization_code', codeRun),
      row('refresh_token', refreshRun),
      '',
    ].join('\n'),
  );
} finally {
  await running.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
