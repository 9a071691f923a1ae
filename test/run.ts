// `npm test`: runs every test/**/*.test.ts under c8 in one child process, prints the coverage summary,
// and ends with the line CI reads: `N passed, N failed[, N skipped]`.
// Arguments filter files by substring: `npm test -- eventstore oauth`; with no filter the formatter and
// the type checker and the import-cycle check run first, each counted as one test.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const resultsFile = path.join(root, 'test-output', 'results.json');
fs.mkdirSync(path.dirname(resultsFile), { recursive: true });
fs.rmSync(resultsFile, { force: true });

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
const child = spawnSync(
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
  { cwd: root, stdio: 'inherit', env: { ...process.env, RMCP_TEST_RESULTS: resultsFile } },
);

let results = { passed: 0, failed: 0, skipped: 0 };
try {
  results = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as typeof results;
} catch {
  // the suite process died before writing results: count it as one failure below
  results.failed = Math.max(results.failed, 1);
}
if (child.status !== 0 && results.failed === 0) results.failed = 1;
results.passed += checksPassed;
results.failed += checksFailed;
const skipped = results.skipped > 0 ? `, ${results.skipped} skipped` : '';
process.stdout.write(`\n${results.passed} passed, ${results.failed} failed${skipped}\n`);
process.exit(results.failed > 0 ? 1 : 0);
