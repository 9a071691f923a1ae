// Glob patterns from callers never reach a backtracking matcher: a pattern that a RegExp engine takes
// seconds on leaves the event loop free, over real HTTP through /mcp with the MCP SDK client.
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { globMatcher, MAX_ALTERNATIVES } from '../../../mcp/tools/fs/glob.ts';
import { ToolError } from '../../../mcp/tools/define.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { caller, connectHttp, errorText, serveWithStandInTokens, structured, type Connected } from './support.ts';

type Context = { server: TestServer; mcp: Connected; other: Connected; root: string };
const test = suite<Context>('tools: glob patterns run in linear time (no ReDoS), over HTTP');

// `*?` eight times then Q: as a RegExp ([^/]*[^/] …) it takes about 4 s against one 40-character name
// on this class of machine, and each extra `*?` multiplies that by about 4.
const EVIL = `${'*?'.repeat(8)}Q`;
const LONG_NAME = 'a'.repeat(40);
const MATCHING = `${'b'.repeat(12)}Q`;

test.before(async (context) => {
  context.server = await startTestServer();
  context.root = path.join(context.server.dataDir, 'files');
  fs.mkdirSync(path.join(context.root, 'redos/sub'), { recursive: true });
  fs.writeFileSync(path.join(context.root, 'redos', LONG_NAME), '');
  fs.writeFileSync(path.join(context.root, 'redos/sub', MATCHING), '');
  fs.writeFileSync(path.join(context.root, 'redos/sub', `${LONG_NAME}.txt`), '');
  const tokens = await serveWithStandInTokens(context.server);
  context.mcp = await connectHttp(context.server, tokens, caller('redos-user'));
  context.other = await connectHttp(context.server, tokens, caller('bystander'));
});
test.after(async ({ server, mcp, other }) => {
  await mcp.close();
  await other.close();
  await server.stop();
});

/** Runs `work` while measuring the event loop's longest block (ms) and timing another caller's request. */
const measured = async <T>(work: () => Promise<T>, other: Connected) => {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const started = performance.now();
  const pending = work();
  const ping = other.call('fs_list_allowed_directories').then(() => performance.now() - started);
  const [result, pingMs] = await Promise.all([pending, ping]);
  histogram.disable();
  return { result, maxBlockMs: histogram.max / 1e6, pingMs };
};

test('fs_search_files with a catastrophic pattern: loop never blocked 500 ms, correct matches', async ({
  mcp,
  other,
  root,
}) => {
  const { result, maxBlockMs, pingMs } = await measured(
    () => mcp.call('fs_search_files', { path: 'redos', pattern: EVIL }),
    other,
  );
  assert.ok(maxBlockMs < 500, `the event loop was blocked for ${maxBlockMs.toFixed(0)} ms`);
  assert.ok(pingMs < 1_000, `another user's request took ${pingMs.toFixed(0)} ms`);
  const { matches } = structured<{ matches: string[] }>(result);
  assert.equal(matches, [path.join(fs.realpathSync(root), 'redos/sub', MATCHING)]);
});

test('fs_directory_tree with the same pattern as an exclude: loop free, only the match left out', async ({
  mcp,
  other,
}) => {
  const { result, maxBlockMs } = await measured(
    () => mcp.call('fs_directory_tree', { path: 'redos', excludePatterns: [EVIL, `sub/${EVIL}`] }),
    other,
  );
  assert.ok(maxBlockMs < 500, `the event loop was blocked for ${maxBlockMs.toFixed(0)} ms`);
  const { entries } = structured<{ entries: { path: string }[] }>(result);
  assert.equal(
    entries.map((e) => e.path),
    [LONG_NAME, 'sub', `sub/${LONG_NAME}.txt`],
  );
});

test('matching work per call is bounded: a costly exclude over long paths → pattern_too_complex, loop free', async ({
  mcp,
  other,
  root,
}) => {
  // 8,100 tokens, more of them live with every character, against 20 nested paths of up to 3,840
  // characters: about 100M steps in all, past the limit of 50M.
  let dir = path.join(root, 'long');
  for (let level = 0; level < 20; level += 1)
    dir = path.join(dir, `${'d'.repeat(189)}${String(level).padStart(2, '0')}`);
  fs.mkdirSync(dir, { recursive: true });
  const started = performance.now();
  const { result, maxBlockMs, pingMs } = await measured(
    () => mcp.call('fs_directory_tree', { path: 'long', excludePatterns: [`${'**?'.repeat(2_700)}Q`], maxDepth: 20 }),
    other,
  );
  assert.is(
    errorText(result),
    'pattern_too_complex: matching the patterns against this tree takes too much work; use simpler patterns or a smaller directory',
  );
  assert.ok(performance.now() - started < 15_000);
  assert.ok(maxBlockMs < 500, `the event loop was blocked for ${maxBlockMs.toFixed(0)} ms`);
  assert.ok(pingMs < 1_000, `another user's request took ${pingMs.toFixed(0)} ms`);
});

test('brace expansion is bounded: pattern_too_complex, as a tool error', async ({ mcp }) => {
  const text = errorText(await mcp.call('fs_search_files', { path: 'redos', pattern: '{a,b}'.repeat(9) }));
  assert.is(
    text,
    `pattern_too_complex: the pattern expands to more than ${MAX_ALTERNATIVES} alternatives or 8192 tokens`,
  );
});

test('glob semantics: *, **, ?, classes, braces, escapes, base-name matching', async () => {
  const cases: [string, string, boolean][] = [
    ['**/*.ts', 'a/b/c.ts', true],
    ['**/*.ts', 'c.ts', true],
    ['*.md', 'docs/readme.md', true],
    ['src/*.ts', 'src/deep/x.ts', false],
    ['src/**/*.{ts,md}', 'src/main.ts', true],
    ['src/**/*.{ts,md}', 'src/a/b/util.md', true],
    ['node_modules/**', 'node_modules/pkg/index.js', true],
    ['node_modules/**', 'node_modules', false],
    ['a/**/b', 'a/b', true],
    ['a/**/b', 'a/x/y/b', true],
    ['a?c', 'abc', true],
    ['a?c', 'a/c', false],
    ['file-[0-9].{txt,log}', 'file-3.log', true],
    ['[!a]*', 'bcd', true],
    ['[!a]*', 'abc', false],
    ['[a-c]x', 'bx', true],
    ['[abc', '[abc', true],
    ['{a,b', '{a,b', true],
    ['a{b,c{d,e}}f', 'acef', true],
    ['\\*', '*', true],
    ['\\*', 'x', false],
    ['a.b', 'axb', false],
    ['*?'.repeat(200) + 'Q', 'x'.repeat(300), false],
  ];
  for (const [pattern, candidate, expected] of cases)
    assert.is(await globMatcher(pattern)(candidate), expected, `${pattern.slice(0, 20)} ~ ${candidate.slice(0, 20)}`);
  const thrown = (() => {
    try {
      globMatcher('{a,b,c}'.repeat(6));
    } catch (error) {
      return error;
    }
  })();
  assert.ok(thrown instanceof ToolError && thrown.code === 'pattern_too_complex');
});

test.run();
