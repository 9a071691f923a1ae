// Token endpoint throughput on loopback: authorization_code exchanges and refresh_token rotations over
// real HTTP against the real server, N requests at concurrency C; prints requests/s, p50 and p99.
// Usage: node --import tsx bench/oauth/token.ts [--requests 2000] [--concurrency 16] [--database-url postgres://…/scratch]
// Codes are prepared through the application service (login and consent are not what is measured).
import { parseArgs } from 'node:util';
import { percentile, startTokenBench } from './setup.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '16' },
    'database-url': { type: 'string' },
  },
});
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);
const bench = await startTokenBench(values['database-url'], 'oauth');

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
  const WARMUP = Math.min(200, REQUESTS);
  const codes: { code: string; verifier: string }[] = [];
  for (let i = 0; i < REQUESTS + WARMUP; i += CONCURRENCY)
    codes.push(
      ...(await Promise.all(Array.from({ length: Math.min(CONCURRENCY, REQUESTS + WARMUP - i) }, bench.newCode))),
    );
  const exchange = (i: number) => bench.exchange(codes[i]!);
  // Warm-up (JIT) on codes of their own, not measured.
  await run(WARMUP, (i) => exchange(REQUESTS + i));
  const refreshTokens: string[] = [];
  const codeRun = await run(REQUESTS, async (i) => refreshTokens.push((await exchange(i)).refresh_token!));
  const refreshRun = await run(REQUESTS, async (i) => {
    const slot = i % refreshTokens.length;
    refreshTokens[slot] = (await bench.refresh(refreshTokens[slot]!)).refresh_token!;
  });
  const row = (label: string, r: { latencies: number[]; seconds: number }) =>
    `| ${label.padEnd(20)} | ${String(REQUESTS).padStart(8)} | ${String(CONCURRENCY).padStart(11)} | ${(REQUESTS / r.seconds).toFixed(0).padStart(7)} | ${percentile(r.latencies, 50).toFixed(1).padStart(7)} | ${percentile(r.latencies, 99).toFixed(1).padStart(7)} |`;
  process.stdout.write(
    [
      `token endpoint on ${bench.database}, loopback HTTP`,
      '| grant                | requests | concurrency |   req/s | p50 ms  | p99 ms  |',
      '|----------------------|----------|-------------|---------|---------|---------|',
      row('authorization_code', codeRun),
      row('refresh_token', refreshRun),
      '',
    ].join('\n'),
  );
} finally {
  await bench.close();
}
