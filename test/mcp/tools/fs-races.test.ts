// FIFOs in a root are refused at once (no libuv file thread waits on them), and a directory swapped for
// a symbolic link between the check of a path and its use is never listed, written or cleaned up
// outside the roots. The swaps use open.ts's test-only seam (raceSeam), which runs at exactly the moment
// between check and open (and right after the open), so these races are deterministic.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { raceSeam } from '../../../mcp/tools/fs/open.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { caller, connectHttp, errorText, serveWithStandInTokens, structured, type Connected } from './support.ts';

type Context = { server: TestServer; mcp: Connected; root: string; real: string; outside: string };
const test = suite<Context>('tools: FIFOs refused, check-then-use races refused (deterministic swaps)');

test.before(async (context) => {
  context.server = await startTestServer();
  context.root = path.join(context.server.dataDir, 'files');
  context.real = fs.realpathSync(context.root);
  context.outside = path.join(context.server.dataDir, 'outside');
  fs.mkdirSync(context.outside);
  context.mcp = await connectHttp(context.server, await serveWithStandInTokens(context.server), caller('racer'));
});
test.after.each(() => {
  raceSeam.beforeOpen = undefined;
  raceSeam.afterOpen = undefined;
});
test.after(async ({ server, mcp }) => {
  await mcp.close();
  await server.stop();
});

/** Fails instead of hanging when a call does not come back (the old code waited on a FIFO forever). */
const prompt = async (call: Promise<CallToolResult>, ms = 5_000): Promise<CallToolResult> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
};

const FIFO = 'not_a_file: pipe is not a regular file or directory (FIFOs, sockets and devices are refused)';

test('a FIFO is refused by every tool that opens files, promptly, and the server keeps serving', async ({
  mcp,
  root,
}) => {
  execFileSync('mkfifo', [path.join(root, 'pipe')]);
  fs.writeFileSync(path.join(root, 'plain.txt'), 'plain\n');
  const started = performance.now();
  // More concurrent reads than libuv has file threads (4): with a blocking open they would all hang.
  const reads = await prompt(
    Promise.all(Array.from({ length: 6 }, () => mcp.call('fs_read_text_file', { path: 'pipe' }))).then(
      (results) => results[0]!,
    ),
  );
  assert.is(errorText(reads), FIFO);
  assert.is(errorText(await prompt(mcp.call('fs_read_text_file', { path: 'pipe', head: 1 }))), FIFO);
  assert.is(errorText(await prompt(mcp.call('fs_read_text_file', { path: 'pipe', tail: 1 }))), FIFO);
  assert.is(errorText(await prompt(mcp.call('fs_read_media_file', { path: 'pipe' }))), FIFO);
  assert.is(errorText(await prompt(mcp.call('fs_get_file_info', { path: 'pipe' }))), FIFO);
  assert.is(
    errorText(await prompt(mcp.call('fs_edit_file', { path: 'pipe', edits: [{ oldText: 'a', newText: 'b' }] }))),
    FIFO,
  );
  assert.is(
    errorText(await prompt(mcp.call('fs_write_file', { path: 'pipe', content: 'x' }))),
    'not_a_file: pipe is not a regular file (FIFOs, sockets and devices are refused)',
  );
  assert.is(
    errorText(await prompt(mcp.call('fs_list_directory', { path: 'pipe' }))),
    'not_a_directory: pipe is not a directory',
  );
  const several = structured<{ files: { path: string; content?: string; error?: string }[] }>(
    await prompt(mcp.call('fs_read_multiple_files', { paths: ['pipe', 'plain.txt'] })),
  );
  assert.is(several.files[0]?.error, FIFO);
  assert.is(several.files[1]?.content, 'plain\n');
  assert.ok(performance.now() - started < 5_000);
  assert.ok(fs.lstatSync(path.join(root, 'pipe')).isFIFO(), 'the FIFO was not replaced');
  // Still serving, file threads free: a plain read and a listing (which shows the FIFO as "other").
  assert.is(
    structured<{ content: string }>(await prompt(mcp.call('fs_read_text_file', { path: 'plain.txt' }))).content,
    'plain\n',
  );
  const listed = structured<{ entries: { name: string; type: string }[] }>(
    await prompt(mcp.call('fs_list_directory', { path: '.' })),
  );
  assert.equal(
    listed.entries.find((e) => e.name === 'pipe'),
    { name: 'pipe', type: 'other', size: 0 },
  );
});

/** Makes `dir` (inside the root) a symbolic link to `target` (outside), keeping the original aside. */
const swap = (dir: string, target: string) => {
  fs.renameSync(dir, `${dir}.orig`);
  fs.symlinkSync(target, dir);
};
const unswap = (dir: string) => {
  fs.unlinkSync(dir);
  fs.renameSync(`${dir}.orig`, dir);
};
const tree = (dir: string): string[] =>
  fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

test('list: the directory itself swapped for a link to outside after the check → refused, nothing listed', async ({
  mcp,
  root,
  real,
  outside,
}) => {
  fs.mkdirSync(path.join(root, 'victim'));
  fs.writeFileSync(path.join(root, 'victim/inside.txt'), '');
  fs.mkdirSync(path.join(outside, 'bait'));
  fs.writeFileSync(path.join(outside, 'bait/outside-secret.txt'), 'secret');
  raceSeam.beforeOpen = (checked) => {
    if (checked === path.join(real, 'victim')) swap(path.join(root, 'victim'), path.join(outside, 'bait'));
  };
  const result = await mcp.call('fs_list_directory', { path: 'victim' });
  raceSeam.beforeOpen = undefined;
  unswap(path.join(root, 'victim'));
  assert.is(errorText(result), 'symlink_refused: victim became a symbolic link after it was checked');
  assert.not.match(JSON.stringify(result), /outside-secret/);
});

test('list: a parent swapped for a link to outside after the check → refused, nothing listed', async ({
  mcp,
  root,
  real,
  outside,
}) => {
  fs.mkdirSync(path.join(root, 'a/b'), { recursive: true });
  fs.mkdirSync(path.join(outside, 'a-bait/b'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'a-bait/b/outside-secret.txt'), 'secret');
  raceSeam.beforeOpen = (checked) => {
    if (checked === path.join(real, 'a/b')) swap(path.join(root, 'a'), path.join(outside, 'a-bait'));
  };
  const result = await mcp.call('fs_list_directory', { path: 'a/b' });
  raceSeam.beforeOpen = undefined;
  unswap(path.join(root, 'a'));
  assert.is(errorText(result), 'symlink_escape: a/b was swapped for a link to outside the allowed directories');
  assert.not.match(JSON.stringify(result), /outside-secret/);
  // The same swap during a search's walk: the swapped subdirectory is left out, nothing outside appears.
  raceSeam.beforeOpen = (checked) => {
    if (checked === path.join(real, 'a/b')) swap(path.join(root, 'a'), path.join(outside, 'a-bait'));
  };
  const found = structured<{ matches: string[] }>(await mcp.call('fs_search_files', { path: '.', pattern: '*' }));
  raceSeam.beforeOpen = undefined;
  unswap(path.join(root, 'a'));
  assert.ok(found.matches.includes(path.join(real, 'a/b')));
  assert.not.ok(found.matches.some((m) => m.includes('outside-secret')));
});

test('write: the target directory swapped for a link to outside, and back after the open → refused, no temp file left anywhere', async ({
  mcp,
  root,
  real,
  outside,
}) => {
  fs.mkdirSync(path.join(root, 'p/q'), { recursive: true });
  fs.mkdirSync(path.join(outside, 'p-bait/q'), { recursive: true });
  raceSeam.beforeOpen = (checked) => {
    if (checked === path.join(real, 'p/q')) swap(path.join(root, 'p'), path.join(outside, 'p-bait'));
  };
  raceSeam.afterOpen = (checked) => {
    if (checked === path.join(real, 'p/q')) unswap(path.join(root, 'p'));
  };
  const result = await mcp.call('fs_write_file', { path: 'p/q/new.txt', content: 'must not land outside' });
  assert.equal(tree(path.join(outside, 'p-bait')), ['q']);
  assert.equal(tree(path.join(root, 'p')), ['q']);
  assert.is(errorText(result), 'symlink_escape: p/q/new.txt was swapped for a link to outside the allowed directories');
});

test('write: the target directory itself swapped for a link → refused, nothing written outside', async ({
  mcp,
  root,
  real,
  outside,
}) => {
  fs.mkdirSync(path.join(root, 'w'));
  fs.mkdirSync(path.join(outside, 'w-bait'));
  raceSeam.beforeOpen = (checked) => {
    if (checked === path.join(real, 'w')) swap(path.join(root, 'w'), path.join(outside, 'w-bait'));
  };
  const result = await mcp.call('fs_write_file', { path: 'w/new.txt', content: 'x' });
  raceSeam.beforeOpen = undefined;
  unswap(path.join(root, 'w'));
  assert.equal(tree(path.join(outside, 'w-bait')), []);
  assert.equal(tree(path.join(root, 'w')), []);
  assert.is(errorText(result), 'symlink_refused: w/new.txt became a symbolic link after it was checked');
});

test('move and mkdir: a parent swapped for a link to outside after the check → refused, nothing moved or made outside', async ({
  mcp,
  root,
  real,
  outside,
}) => {
  fs.mkdirSync(path.join(root, 'm/dest'), { recursive: true });
  fs.writeFileSync(path.join(root, 'm/file.txt'), 'mine');
  fs.mkdirSync(path.join(outside, 'm-bait/dest'), { recursive: true });
  raceSeam.beforeOpen = (checked) => {
    if (checked === path.join(real, 'm/dest')) swap(path.join(root, 'm'), path.join(outside, 'm-bait'));
  };
  const moved = await mcp.call('fs_move_file', { source: 'm/file.txt', destination: 'm/dest/file.txt' });
  raceSeam.beforeOpen = undefined;
  unswap(path.join(root, 'm'));
  assert.is(
    errorText(moved),
    'symlink_escape: m/dest/file.txt was swapped for a link to outside the allowed directories',
  );
  raceSeam.beforeOpen = (checked) => {
    if (checked === path.join(real, 'm/dest')) swap(path.join(root, 'm'), path.join(outside, 'm-bait'));
  };
  const made = await mcp.call('fs_create_directory', { path: 'm/dest/x/y' });
  raceSeam.beforeOpen = undefined;
  unswap(path.join(root, 'm'));
  assert.is(errorText(made), 'symlink_escape: m/dest/x/y was swapped for a link to outside the allowed directories');
  assert.equal(tree(path.join(outside, 'm-bait')), ['dest']);
  assert.equal(tree(path.join(root, 'm')), ['dest', 'file.txt']);
});

test.run();
