// Runs the official MCP conformance suite (server scenarios) against the real server in fixtures mode.
//   node --import tsx test/conformance/run.ts [--scenario <name>] [--verbose]
// Node 20: the suite needs fs.globSync; preload.mjs supplies it (NOTES.md), test-only.
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

export type ConformanceResult = { passed: number; failed: number; output: string };

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
    return { passed, failed, output: plain };
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
  process.exit(result.failed > 0 ? 1 : 0);
}
