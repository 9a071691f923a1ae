// Abuse, filesystem tools: big directory walks and large-file diffs are capped and paced. Loopback only,
// bounded counts (20,000 files) and time; another user keeps being answered meanwhile.
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_ENTRIES } from '../../mcp/tools/fs/walk.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { caller, connectHttp, serveWithStandInTokens, structured, type Connected } from '../mcp/tools/support.ts';

type Context = { server: TestServer; mcp: Connected; other: Connected; root: string };
const test = suite<Context>('abuse: filesystem walks and diffs stay bounded and keep the server responsive');

const WIDE = 6_000; // one directory with more names than MAX_ENTRIES
const NARROW_DIRS = 14; // and 14 × 1,000 more: 20,000 files in all
const BOUND_MS = 15_000;

test.before(async (context) => {
  context.server = await startTestServer();
  context.root = path.join(context.server.dataDir, 'files');
  const big = path.join(context.root, 'big');
  fs.mkdirSync(path.join(big, 'wide'), { recursive: true });
  for (let i = 0; i < WIDE; i += 1) fs.writeFileSync(path.join(big, 'wide', `f${String(i).padStart(4, '0')}.txt`), '');
  for (let d = 0; d < NARROW_DIRS; d += 1) {
    const dir = path.join(big, `d${String(d).padStart(2, '0')}`);
    fs.mkdirSync(dir);
    for (let i = 0; i < 1_000; i += 1) fs.writeFileSync(path.join(dir, `f${String(i).padStart(4, '0')}.txt`), '');
  }
  const tokens = await serveWithStandInTokens(context.server);
  context.mcp = await connectHttp(context.server, tokens, caller('walker'));
  context.other = await connectHttp(context.server, tokens, caller('bystander'));
});
test.after(async ({ server, mcp, other }) => {
  await mcp.close();
  await other.close();
  await server.stop();
});

/**
 * Runs `work` while another user calls a tool again and again; returns the work's result, its duration,
 * the event loop's longest block, and the other user's slowest answer and answer count meanwhile.
 */
const whileOthersCall = async <T>(work: () => Promise<T>, other: Connected) => {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const started = performance.now();
  let done = false;
  let answered = 0;
  let slowest = 0;
  const pings = (async () => {
    while (!done) {
      const sent = performance.now();
      await other.call('fs_list_allowed_directories');
      slowest = Math.max(slowest, performance.now() - sent);
      answered += 1;
    }
  })();
  const result = await work().finally(() => {
    done = true;
  });
  const elapsedMs = performance.now() - started;
  await pings;
  histogram.disable();
  return { result, elapsedMs, maxBlockMs: histogram.max / 1e6, answered, slowest };
};

const assertResponsive = (run: { elapsedMs: number; maxBlockMs: number; answered: number; slowest: number }) => {
  assert.ok(run.elapsedMs < BOUND_MS, `took ${run.elapsedMs.toFixed(0)} ms`);
  assert.ok(run.maxBlockMs < 500, `the event loop was blocked for ${run.maxBlockMs.toFixed(0)} ms`);
  assert.ok(run.answered >= 1, 'the other user was answered while the walk ran');
  assert.ok(run.slowest < 2_000, `the other user waited ${run.slowest.toFixed(0)} ms`);
};

test(`search over 20,000 files: capped at ${MAX_ENTRIES} entries, truncated, loop free`, async ({ mcp, other }) => {
  const run = await whileOthersCall(() => mcp.call('fs_search_files', { path: 'big', pattern: '**/f*7.txt' }), other);
  assertResponsive(run);
  const { matches, truncated } = structured<{ matches: string[]; truncated: boolean }>(run.result);
  assert.is(truncated, true);
  assert.ok(matches.length > 0 && matches.length <= MAX_ENTRIES / 10 + 1, `${matches.length} matches`);
  assert.ok(matches.every((m) => /\/f\d{3}7\.txt$/.test(m)));
});

test('tree over 20,000 files: capped and truncated, loop free', async ({ mcp, other }) => {
  const run = await whileOthersCall(() => mcp.call('fs_directory_tree', { path: 'big' }), other);
  assertResponsive(run);
  const { entries, truncated } = structured<{ entries: unknown[]; truncated: boolean }>(run.result);
  assert.is(truncated, true);
  assert.is(entries.length, MAX_ENTRIES);
});

test(`listing a directory of ${WIDE} names: the first ${MAX_ENTRIES} by name, truncated`, async ({ mcp, other }) => {
  const run = await whileOthersCall(() => mcp.call('fs_list_directory', { path: 'big/wide' }), other);
  assertResponsive(run);
  const { entries, truncated } = structured<{ entries: { name: string }[]; truncated: boolean }>(run.result);
  assert.is(truncated, true);
  assert.is(entries.length, MAX_ENTRIES);
  assert.is(entries[0]?.name, 'f0000.txt');
  assert.is(entries.at(-1)?.name, `f${MAX_ENTRIES - 1}.txt`);
});

test('dry-run diff of a 9 MB file with 20 edits in 2,000 lines: loop free, file unchanged', async ({
  mcp,
  other,
  root,
}) => {
  const lines = Array.from({ length: 150_000 }, (_, i) => `line ${i} ${'x'.repeat(50)}`);
  const file = path.join(root, 'large.txt');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  const edits = Array.from({ length: 20 }, (_, k) => ({
    oldText: `line ${70_000 + k * 100} x`,
    newText: `LINE ${70_000 + k * 100} x`,
  }));
  const run = await whileOthersCall(() => mcp.call('fs_edit_file', { path: 'large.txt', edits, dryRun: true }), other);
  assertResponsive(run);
  const { diff, applied } = structured<{ diff: string; applied: boolean }>(run.result);
  assert.is(applied, false);
  assert.is(diff.split('\n').filter((l) => l.startsWith('+LINE ')).length, 20);
  assert.match(diff, /^--- a\/large\.txt\n\+\+\+ b\/large\.txt\n@@ -69998,7 \+69998,7 @@\n line 69997 /);
  assert.is(fs.statSync(file).size, Buffer.byteLength(`${lines.join('\n')}\n`));
});

test.run();
