// Refresh cost against the age of the grant: one public client refreshing one grant sequentially over
// real HTTP, as a connector does every ten minutes for months. Times the first refreshes of the grant,
// rotates it to `--rotations`, times as many again, and prints the ratio of the medians (target ≤ 1.5×).
// A machine whose load drifts during the run moves that ratio by itself, so the old grant is then also
// timed taking turns with a new one, refresh by refresh: the same moment, only the age differs.
// Usage: node --import tsx bench/oauth/refresh-history.ts [--rotations 10000] [--sample 200] [--database-url postgres://…/scratch]
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
    rotations: { type: 'string', default: '10000' },
    sample: { type: 'string', default: '200' },
    'database-url': { type: 'string' },
  },
});
const ROTATIONS = Number(values.rotations);
const SAMPLE = Number(values.sample);
const REDIRECT = 'http://127.0.0.1:9/callback';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-bench-refresh-'));
const config = loadConfig({
  PORT: '0',
  DATA_DIR: dataDir,
  LOG_LEVEL: 'silent',
  ADMIN_PASSWORD: 'bench-password-1',
  OAUTH_RATE_LIMIT_PER_MINUTE: '1000000000',
  ...(values['database-url'] ? { DATABASE_URL: values['database-url'] } : {}),
});
const running = await startServer(config, createLogger('silent'));
const { oauth, users } = running.services;
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

const post = async (form: Record<string, string>) => {
  const response = await fetch(`${running.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  const body = (await response.json()) as Record<string, string>;
  if (response.status !== 200) throw new Error(`token endpoint answered ${response.status}: ${JSON.stringify(body)}`);
  return body;
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
  /** A new grant through the application service (login and consent are not what is measured). */
  const newGrant = async (): Promise<string> => {
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
    const body = await post({
      grant_type: 'authorization_code',
      code: location.searchParams.get('code')!,
      code_verifier: verifier,
      redirect_uri: REDIRECT,
      client_id: client.clientId,
    });
    return body.refresh_token!;
  };
  /** `count` sequential refreshes of one grant; their latencies (ms), sorted, and the newest token. */
  const refreshes = async (token: string, count: number) => {
    const latencies: number[] = [];
    let current = token;
    for (let i = 0; i < count; i += 1) {
      const t = performance.now();
      current = (await post({ grant_type: 'refresh_token', refresh_token: current, client_id: client.clientId }))
        .refresh_token!;
      latencies.push(performance.now() - t);
    }
    return { latencies: latencies.sort((a, b) => a - b), token: current };
  };
  // Warm-up (JIT, connection pools) on a grant of its own, so the first sample is not the cold process.
  await refreshes(await newGrant(), Math.max(SAMPLE, 500));
  const first = await refreshes(await newGrant(), SAMPLE);
  const middle = await refreshes(first.token, Math.max(0, ROTATIONS - 2 * SAMPLE));
  const last = await refreshes(middle.token, SAMPLE);
  // Taking turns: one refresh of the old grant, one of a new grant, SAMPLE times.
  const old: number[] = [];
  const young: number[] = [];
  let oldToken = last.token;
  let youngToken = await newGrant();
  for (let i = 0; i < SAMPLE; i += 1) {
    const a = await refreshes(oldToken, 1);
    const b = await refreshes(youngToken, 1);
    old.push(a.latencies[0]!);
    young.push(b.latencies[0]!);
    oldToken = a.token;
    youngToken = b.token;
  }
  old.sort((x, y) => x - y);
  young.sort((x, y) => x - y);
  const row = (label: string, latencies: number[]) =>
    `| ${label.padEnd(34)} | ${percentile(latencies, 50).toFixed(1).padStart(7)} | ${percentile(latencies, 99).toFixed(1).padStart(7)} |`;
  const ratio = percentile(last.latencies, 50) / percentile(first.latencies, 50);
  process.stdout.write(
    [
      `refresh_token rotations of one grant, sequential, on ${config.databaseUrl ? 'PostgreSQL server' : 'embedded PGlite'}, loopback HTTP`,
      '| refreshes                          | p50 ms  | p99 ms  |',
      '|------------------------------------|---------|---------|',
      row(`1–${SAMPLE}`, first.latencies),
      row(`${ROTATIONS - SAMPLE + 1}–${ROTATIONS}`, last.latencies),
      row(`then, in turns: this grant (old)`, old),
      row(`in turns: a new grant`, young),
      '',
      `median ratio, last / first: ${ratio.toFixed(2)}× (target ≤ 1.5×)`,
      `median ratio in turns, old / new grant: ${(percentile(old, 50) / percentile(young, 50)).toFixed(2)}×`,
      '',
    ].join('\n'),
  );
} finally {
  await running.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
