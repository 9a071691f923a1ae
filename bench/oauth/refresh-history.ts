// Refresh cost against the age of the grant: one public client refreshing one grant sequentially over
// real HTTP, as a connector does every ten minutes for months. Times the first refreshes of the grant,
// rotates it to `--rotations`, times as many again, and prints the ratio of the medians (target ≤ 1.5×).
// A machine whose load drifts during the run moves that ratio by itself, so the old grant is then also
// timed taking turns with a new one, refresh by refresh: the same moment, only the age differs.
// Usage: node --import tsx bench/oauth/refresh-history.ts [--rotations 10000] [--sample 200] [--database-url postgres://…/scratch]
import { parseArgs } from 'node:util';
import { percentile, startTokenBench } from './setup.ts';

const { values } = parseArgs({
  options: {
    rotations: { type: 'string', default: '10000' },
    sample: { type: 'string', default: '200' },
    'database-url': { type: 'string' },
  },
});
const ROTATIONS = Number(values.rotations);
const SAMPLE = Number(values.sample);
const bench = await startTokenBench(values['database-url'], 'refresh');

try {
  /** A new grant through the application service (login and consent are not what is measured). */
  const newGrant = async (): Promise<string> => (await bench.exchange(await bench.newCode())).refresh_token!;
  /** `count` sequential refreshes of one grant; their latencies (ms), sorted, and the newest token. */
  const refreshes = async (token: string, count: number) => {
    const latencies: number[] = [];
    let current = token;
    for (let i = 0; i < count; i += 1) {
      const t = performance.now();
      current = (await bench.refresh(current)).refresh_token!;
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
      `refresh_token rotations of one grant, sequential, on ${bench.database}, loopback HTTP`,
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
  await bench.close();
}
