// Loads the test files into one uvu run and writes the counts for test/run.ts.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { skippedCount } from './support/skip.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const filters = process.argv.slice(2);

const files = (fs.readdirSync(path.join(root, 'test'), { recursive: true }) as string[])
  .filter((file) => file.endsWith('.test.ts'))
  .map((file) => path.join('test', file))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();

(globalThis as { UVU_DEFER?: number }).UVU_DEFER = 1;
const uvu = await import('uvu');
const queue = (globalThis as unknown as { UVU_QUEUE: unknown[][] }).UVU_QUEUE;
for (const [index, file] of files.entries()) {
  (globalThis as { UVU_INDEX?: number }).UVU_INDEX = index;
  queue.push([file]);
  await import(pathToFileURL(path.join(root, file)).href);
}

// uvu prints its own summary; capture it to count.
let output = '';
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  output += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
  return (write as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;
await uvu.exec(false);
process.stdout.write = write;

// eslint-disable-next-line no-control-regex
const plain = output.replace(/\u001b\[[0-9;]*m/g, '');
const number = (label: string) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(plain)?.[1] ?? 0);
const total = number('Total');
const passed = number('Passed');
const skippedTests = number('Skipped');
const results = { passed, failed: total - passed - skippedTests, skipped: skippedTests + skippedCount() };
if (process.env.RMCP_TEST_RESULTS) fs.writeFileSync(process.env.RMCP_TEST_RESULTS, JSON.stringify(results));
// Servers and pools left open by a failing test must not keep CI waiting (coverage is written on exit).
process.exit(results.failed > 0 ? 1 : 0);
