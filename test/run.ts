// `npm test`: runs every test/**/*.test.ts under c8 in one child process, prints the coverage summary,
// and ends with the line CI reads: `N passed, N failed[, N skipped]`.
// Arguments filter files by substring: `npm test -- eventstore oauth`; with no filter the formatter and
// the type checker and the import-cycle check run first, each counted as one test.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { countResults } from './support/results.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const checks: Array<[string, string[]]> = [
  [
    'prettier --check',
    [path.join(root, 'node_modules', 'prettier', 'bin', 'prettier.cjs'), '--check', '--log-level=warn', '.'],
  ],
  ['tsc --noEmit', [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit']],
  // No import cycle among source files, type imports included (ARCHITECTURE.md).
  [
    'madge --circular',
    [
      path.join(root, 'node_modules', 'madge', 'bin', 'cli.js'),
      '--circular',
      '--no-spinner',
      '--extensions',
      'ts',
      '--ts-config',
      'tsconfig.json',
      ...['app', 'bin', 'db', 'domain', 'eventstore', 'http', 'mcp', 'projections'],
    ],
  ],
];
let checksPassed = 0;
let checksFailed = 0;
if (process.argv.length <= 2) {
  for (const [name, args] of checks) {
    const run = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
    if (run.status === 0) checksPassed += 1;
    else checksFailed += 1;
    process.stdout.write(`${name}: ${run.status === 0 ? 'ok' : 'FAILED'}\n`);
  }
}

const c8 = path.join(root, 'node_modules', 'c8', 'bin', 'c8.js');
const sources = ['app', 'db', 'domain', 'eventstore', 'projections', 'http', 'mcp', 'bin'];
// The child's stdout is piped through so the counts can be read from what it prints: uvu's summary and
// the `skipped (N)` line of each suite that cannot run here (test/support/skip.ts).
const child = spawn(
  process.execPath,
  [
    c8,
    '--reporter=text-summary',
    '--reports-dir=coverage',
    ...sources.flatMap((dir) => ['--include', `${dir}/**`]),
    process.execPath,
    '--import',
    'tsx',
    path.join('test', 'suite.ts'),
    ...process.argv.slice(2),
  ],
  {
    cwd: root,
    stdio: ['inherit', 'pipe', 'inherit'],
    env: { ...process.env, ...(process.stdout.isTTY ? { FORCE_COLOR: '1' } : {}) },
  },
);
let output = '';
child.stdout.on('data', (chunk: Buffer) => {
  output += chunk.toString();
  process.stdout.write(chunk);
});
const [status] = (await once(child, 'close')) as [number | null];

const results = countResults(output);
if (status !== 0 && results.failed === 0) results.failed = 1;
results.passed += checksPassed;
results.failed += checksFailed;
const skipped = results.skipped > 0 ? `, ${results.skipped} skipped` : '';
process.stdout.write(`\n${results.passed} passed, ${results.failed} failed${skipped}\n`);
process.exit(results.failed > 0 ? 1 : 0);
