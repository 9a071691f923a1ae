// The test process that test/run.ts starts under c8: uvu's documented programmatic API, as uvu's own
// CLI uses it. `uvu/parse` lists test/**/*.test.ts, the path-substring filters pick among them, and
// `uvu/run` loads and runs them as one uvu run, which prints uvu's summary (Total, Passed, Skipped).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'uvu/parse';
import { run } from 'uvu/run';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const filters = process.argv.slice(2);

const { suites } = await parse(path.join(root, 'test'), /\.test\.ts$/);
const chosen = suites.filter(
  (suite) => filters.length === 0 || filters.some((filter) => path.join('test', suite.name).includes(filter)),
);
await run(chosen);
// Servers and pools left open by a failing test must not keep CI waiting (c8 writes coverage on exit);
// uvu has set the exit code (1 when a test failed).
process.exit();
