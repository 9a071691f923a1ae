// Runs the official MCP conformance suite (server scenarios) against the real server in fixtures mode.
//   node --import tsx test/conformance/run.ts [--scenario <name>] [--verbose]
// Node 20: the suite needs fs.globSync; preload.mjs supplies it, test-only.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestServer } from '../support/server.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const suiteEntry = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@modelcontextprotocol/conformance/package.json')),
  'dist',
  'index.js',
);

export type Counts = { passed: number; failed: number };
export type ConformanceResult = Counts & {
  output: string;
  /** Checks of the scenarios the suite scores for the revision asked (`--requirements`); else all of them. */
  scored: Counts;
  /** Per scenario, from the summary. */
  scenarios: Map<string, Counts>;
};

/** The summary's per-scenario lines, and the scenarios listed under "Not scored for …". */
const parseSummary = (plain: string): { scenarios: Map<string, Counts>; unscored: Set<string> } => {
  const scenarios = new Map<string, Counts>();
  const unscored = new Set<string>();
  const [, tail = ''] = plain.split('=== SUMMARY ===');
  const [scoredPart = '', unscoredPart = ''] = tail.split(/Not scored for [^\n]*\n/);
  for (const match of scoredPart.matchAll(/^[✓✗] ([\w.-]+): (\d+) passed, (\d+) failed/gm))
    scenarios.set(match[1]!, { passed: Number(match[2]), failed: Number(match[3]) });
  for (const match of unscoredPart.matchAll(/^\s+[✓✗] ([\w.-]+) \(/gm)) unscored.add(match[1]!);
  return { scenarios, unscored };
};

/** Starts a fixtures-mode server, runs the suite for `requirements` (a spec revision), stops the server. */
export const runConformance = async (
  options: { requirements?: string; scenario?: string; suite?: 'active' | 'all'; specVersion?: string } = {},
): Promise<ConformanceResult> => {
  const server = await startTestServer({ MCP_CONFORMANCE_FIXTURES: '1' });
  try {
    const args = [suiteEntry, 'server', '--url', `${server.base}/mcp`];
    if (options.scenario) args.push('--scenario', options.scenario);
    else if (options.requirements) args.push('--requirements', options.requirements);
    else if (options.suite) args.push('--suite', options.suite);
    else args.push('--spec-version', options.specVersion ?? '2025-11-25');
    if (options.scenario && options.specVersion) args.push('--spec-version', options.specVersion);
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, args, {
        env: { ...process.env, NODE_OPTIONS: `--import ${pathToUrl(path.join(here, 'preload.mjs'))}` },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.on('error', reject);
      child.on('close', () => resolve(text));
    });
    // eslint-disable-next-line no-control-regex
    const plain = output.replace(/\u001b\[[0-9;]*m/g, '');
    const total = /Total:\s*(\d+) passed,\s*(\d+) failed/.exec(plain);
    const scenario = /Passed:\s*(\d+)\/(\d+)/.exec(plain);
    const passed = Number(total?.[1] ?? scenario?.[1] ?? 0);
    const failed = total ? Number(total[2]) : scenario ? Number(scenario[2]) - Number(scenario[1]) : 1;
    const { scenarios, unscored } = parseSummary(plain);
    const scored = { passed: 0, failed: 0 };
    for (const [name, counts] of scenarios) {
      if (unscored.has(name)) continue;
      scored.passed += counts.passed;
      scored.failed += counts.failed;
    }
    if (scenarios.size === 0) Object.assign(scored, { passed, failed });
    return { passed, failed, output: plain, scored, scenarios };
  } finally {
    await server.stop();
  }
};

const pathToUrl = (file: string) => new URL(`file://${file}`).href;

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const argv = process.argv.slice(2);
  const flag = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const scenario = flag('--scenario');
  const requirements = flag('--requirements');
  const specVersion = flag('--spec-version');
  const result = await runConformance({
    ...(scenario
      ? { scenario }
      : requirements
        ? { requirements }
        : { suite: argv.includes('--all') ? 'all' : 'active' }),
    ...(specVersion ? { specVersion } : {}),
  });
  if (argv.includes('--verbose') || result.failed > 0) process.stdout.write(result.output);
  process.stdout.write(`conformance: ${result.passed} passed, ${result.failed} failed\n`);
  process.stdout.write(`scored: ${result.scored.passed} passed, ${result.scored.failed} failed\n`);
  process.exit(result.failed > 0 ? 1 : 0);
}
