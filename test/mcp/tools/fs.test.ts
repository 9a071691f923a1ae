import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MCP_READ } from '../../../domain/scopes.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import {
  caller,
  connect,
  connectHttp,
  errorText,
  serveWithStandInTokens,
  structured,
  type Connected,
} from './support.ts';

type Context = { server: TestServer; mcp: Connected; root: string; outside: string };
const test = suite<Context>('tools: filesystem through the MCP SDK client over HTTP (/mcp)');

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

test.before(async (context) => {
  context.server = await startTestServer();
  context.root = path.join(context.server.dataDir, 'files');
  context.outside = path.join(context.server.dataDir, 'outside');
  const { root, outside } = context;
  fs.mkdirSync(outside, { recursive: true });
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'top secret\n');
  fs.symlinkSync(outside, path.join(root, 'link-out'));
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'link-file'));
  fs.symlinkSync(path.join(root, 'loop2'), path.join(root, 'loop1'));
  fs.symlinkSync(path.join(root, 'loop1'), path.join(root, 'loop2'));
  fs.symlinkSync(path.join(outside, 'nothing-yet.txt'), path.join(root, 'dangling'));
  fs.linkSync(path.join(outside, 'secret.txt'), path.join(root, 'hard.txt'));
  context.mcp = await connectHttp(context.server, await serveWithStandInTokens(context.server), caller('fs-user'));
});
test.after(async ({ server, mcp }) => {
  await mcp.close();
  await server.stop();
});

test('the default root ($DATA_DIR/files) was created and is the only allowed directory', async ({ mcp, root }) => {
  const result = structured<{ directories: string[] }>(await mcp.call('fs_list_allowed_directories'));
  assert.equal(result.directories, [fs.realpathSync(root)]);
});

test('write, read (whole, head, tail), read several', async ({ mcp, root }) => {
  assert.match(
    errorText(await mcp.call('fs_write_file', { path: 'notes/a.txt', content: 'x' })),
    /^not_found: the parent directory/,
  );
  const written = structured<{ bytes: number; created: boolean }>(
    await mcp
      .call('fs_create_directory', { path: 'notes' })
      .then(() => mcp.call('fs_write_file', { path: 'notes/a.txt', content: 'one\ntwo\nthree\nfour\n' })),
  );
  assert.is(written.created, true);
  assert.is(fs.readFileSync(path.join(root, 'notes/a.txt'), 'utf8'), 'one\ntwo\nthree\nfour\n');
  assert.is(
    structured<{ content: string }>(await mcp.call('fs_read_text_file', { path: 'notes/a.txt' })).content,
    'one\ntwo\nthree\nfour\n',
  );
  assert.is(
    structured<{ content: string }>(await mcp.call('fs_read_text_file', { path: 'notes/a.txt', head: 2 })).content,
    'one\ntwo',
  );
  assert.is(
    structured<{ content: string }>(
      await mcp.call('fs_read_text_file', { path: path.join(root, 'notes/a.txt'), tail: 2 }),
    ).content,
    'three\nfour',
  );
  const several = structured<{ files: { content?: string; error?: string }[] }>(
    await mcp.call('fs_read_multiple_files', { paths: ['notes/a.txt', 'notes/missing.txt'] }),
  );
  assert.is(several.files[0]?.content, 'one\ntwo\nthree\nfour\n');
  assert.match(several.files[1]?.error ?? '', /^not_found:/);
  const rewritten = structured<{ created: boolean }>(
    await mcp.call('fs_write_file', { path: 'notes/a.txt', content: 'one\ntwo\nthree\nfour\n' }),
  );
  assert.is(rewritten.created, false);
});

test('media files come back base64 with their MIME type, as image content', async ({ mcp, root }) => {
  fs.writeFileSync(path.join(root, 'dot.png'), PNG);
  const result = await mcp.call('fs_read_media_file', { path: 'dot.png' });
  const data = structured<{ mimeType: string; size: number; data: string }>(result);
  assert.is(data.mimeType, 'image/png');
  assert.is(data.size, PNG.length);
  assert.equal(result.content[0], { type: 'image', data: PNG.toString('base64'), mimeType: 'image/png' });
});

test('edit: dry run shows a unified diff and changes nothing; then applies; ambiguous or missing text is refused', async ({
  mcp,
  root,
}) => {
  const file = path.join(root, 'notes/a.txt');
  const dry = structured<{ diff: string; applied: boolean }>(
    await mcp.call('fs_edit_file', { path: 'notes/a.txt', edits: [{ oldText: 'two', newText: 'TWO' }], dryRun: true }),
  );
  assert.is(dry.applied, false);
  assert.match(dry.diff, /^--- a\/a\.txt\n\+\+\+ b\/a\.txt\n@@ -1,4 \+1,4 @@\n one\n-two\n\+TWO\n three/);
  assert.is(fs.readFileSync(file, 'utf8'), 'one\ntwo\nthree\nfour\n');
  const applied = structured<{ applied: boolean }>(
    await mcp.call('fs_edit_file', {
      path: 'notes/a.txt',
      edits: [
        { oldText: 'two', newText: 'TWO' },
        { oldText: 'four', newText: '4' },
      ],
    }),
  );
  assert.is(applied.applied, true);
  assert.is(fs.readFileSync(file, 'utf8'), 'one\nTWO\nthree\n4\n');
  assert.match(
    errorText(await mcp.call('fs_edit_file', { path: 'notes/a.txt', edits: [{ oldText: 'nope', newText: 'x' }] })),
    /^edit_not_found:/,
  );
  fs.writeFileSync(path.join(root, 'twice.txt'), 'a a');
  assert.match(
    errorText(await mcp.call('fs_edit_file', { path: 'twice.txt', edits: [{ oldText: 'a', newText: 'b' }] })),
    /^edit_ambiguous:/,
  );
  assert.is(fs.readFileSync(path.join(root, 'twice.txt'), 'utf8'), 'a a');
});

test('create directory, list with sizes, tree with excludes, search by glob, file info, move', async ({
  mcp,
  root,
}) => {
  assert.is(
    structured<{ created: boolean }>(await mcp.call('fs_create_directory', { path: 'proj/src/deep' })).created,
    true,
  );
  assert.is(
    structured<{ created: boolean }>(await mcp.call('fs_create_directory', { path: 'proj/src/deep' })).created,
    false,
  );
  fs.writeFileSync(path.join(root, 'proj/src/main.ts'), 'x'.repeat(100));
  fs.writeFileSync(path.join(root, 'proj/src/deep/util.ts'), 'y'.repeat(10));
  fs.writeFileSync(path.join(root, 'proj/readme.md'), 'z'.repeat(50));
  fs.mkdirSync(path.join(root, 'proj/node_modules/pkg'), { recursive: true });
  fs.writeFileSync(path.join(root, 'proj/node_modules/pkg/index.ts'), '');
  const list = structured<{
    entries: { name: string; type: string; size: number }[];
    totalFiles: number;
    totalSize: number;
  }>(await mcp.call('fs_list_directory', { path: 'proj/src', sortBy: 'size' }));
  assert.equal(list.entries, [
    { name: 'main.ts', type: 'file', size: 100 },
    { name: 'deep', type: 'directory', size: 0 },
  ]);
  assert.is(list.totalSize, 100);
  const tree = structured<{ entries: { path: string }[] }>(
    await mcp.call('fs_directory_tree', { path: 'proj', excludePatterns: ['node_modules'] }),
  );
  assert.equal(
    tree.entries.map((e) => e.path),
    ['readme.md', 'src', 'src/deep', 'src/deep/util.ts', 'src/main.ts'],
  );
  const found = structured<{ matches: string[] }>(
    await mcp.call('fs_search_files', { path: 'proj', pattern: '*.ts', excludePatterns: ['node_modules/**'] }),
  );
  assert.equal(
    found.matches.map((m) => path.relative(fs.realpathSync(root), m)),
    ['proj/src/deep/util.ts', 'proj/src/main.ts'],
  );
  const deepOnly = structured<{ matches: string[] }>(
    await mcp.call('fs_search_files', { path: 'proj', pattern: 'src/**/*.{ts,md}' }),
  );
  assert.is(deepOnly.matches.length, 2);
  const info = structured<{ type: string; size: number; permissions: string }>(
    await mcp.call('fs_get_file_info', { path: 'proj/readme.md' }),
  );
  assert.is(info.type, 'file');
  assert.is(info.size, 50);
  const moved = await mcp.call('fs_move_file', { source: 'proj/readme.md', destination: 'proj/README.md' });
  assert.not.ok(moved.isError);
  assert.ok(fs.existsSync(path.join(root, 'proj/README.md')));
  assert.match(
    errorText(await mcp.call('fs_move_file', { source: 'proj/src/main.ts', destination: 'proj/README.md' })),
    /^already_exists:/,
  );
  assert.match(
    errorText(await mcp.call('fs_move_file', { source: 'proj', destination: 'proj/src/inside' })),
    /^invalid_move:/,
  );
});

test('symbolic links that stay inside the root are followed', async ({ mcp, root }) => {
  fs.symlinkSync(path.join(root, 'notes'), path.join(root, 'link-in'));
  const read = structured<{ path: string; content: string }>(
    await mcp.call('fs_read_text_file', { path: 'link-in/a.txt' }),
  );
  assert.is(read.path, path.join(fs.realpathSync(root), 'notes/a.txt'));
  const listed = structured<{ entries: { name: string; type: string }[] }>(
    await mcp.call('fs_list_directory', { path: '.' }),
  );
  assert.equal(listed.entries.find((e) => e.name === 'link-in')?.type, 'symlink');
  fs.unlinkSync(path.join(root, 'link-in'));
});

const outsideListing = (outside: string) => fs.readdirSync(outside).sort();

test('escape attempts on reads are refused with a clear error', async ({ mcp, outside }) => {
  const cases: [string, RegExp][] = [
    ['../outside/secret.txt', /^outside_roots:/],
    ['/etc/passwd', /^outside_roots:/],
    [path.join(outside, 'secret.txt'), /^outside_roots:/],
    ['notes/../../outside/secret.txt', /^outside_roots:/],
    ['link-file', /^symlink_escape:/],
    ['link-out/secret.txt', /^symlink_escape:/],
    ['loop1', /^symlink_refused:.*loop/],
    ['dangling', /^symlink_refused:/],
    ['hard.txt', /^hard_link_refused:/],
    [`${'a'.repeat(300)}.txt`, /^path_too_long:/],
    [`${'d/'.repeat(2100)}x`, /^path_too_long:/],
    ['notes/a.txt\0.png', /^invalid_path:.*NUL/],
  ];
  for (const [input, expected] of cases) {
    const text = errorText(await mcp.call('fs_read_text_file', { path: input }));
    assert.match(text, expected, `${input.slice(0, 40)} → ${text}`);
    assert.not.match(text, /top secret/);
  }
  assert.match(errorText(await mcp.call('fs_read_media_file', { path: 'link-file' })), /^symlink_escape:/);
  assert.match(errorText(await mcp.call('fs_list_directory', { path: 'link-out' })), /^symlink_escape:/);
  assert.match(errorText(await mcp.call('fs_directory_tree', { path: '..' })), /^outside_roots:/);
  assert.match(errorText(await mcp.call('fs_search_files', { path: 'link-out', pattern: '*' })), /^symlink_escape:/);
  assert.match(errorText(await mcp.call('fs_get_file_info', { path: 'link-out/secret.txt' })), /^symlink_escape:/);
  assert.equal(outsideListing(outside), ['secret.txt']);
});

test('escape attempts on writes are refused and nothing is written', async ({ mcp, root, outside }) => {
  const before = fs.readdirSync(root).sort();
  const writes: [string, Record<string, unknown>, RegExp][] = [
    ['fs_write_file', { path: '../outside/new.txt', content: 'x' }, /^outside_roots:/],
    ['fs_write_file', { path: path.join(outside, 'new.txt'), content: 'x' }, /^outside_roots:/],
    ['fs_write_file', { path: 'link-out/new.txt', content: 'x' }, /^symlink_escape:/],
    ['fs_write_file', { path: 'link-file', content: 'overwritten' }, /^symlink_escape:/],
    ['fs_write_file', { path: 'dangling', content: 'x' }, /^symlink_refused:/],
    ['fs_write_file', { path: 'loop1/new.txt', content: 'x' }, /^symlink_refused:/],
    ['fs_write_file', { path: 'hard.txt', content: 'overwritten' }, /^hard_link_refused:/],
    ['fs_write_file', { path: 'new\0.txt', content: 'x' }, /^invalid_path:/],
    ['fs_write_file', { path: `${'b'.repeat(256)}`, content: 'x' }, /^path_too_long:/],
    ['fs_edit_file', { path: 'link-file', edits: [{ oldText: 'top', newText: 'no' }] }, /^symlink_escape:/],
    ['fs_edit_file', { path: 'hard.txt', edits: [{ oldText: 'top', newText: 'no' }] }, /^hard_link_refused:/],
    ['fs_create_directory', { path: 'link-out/sub' }, /^symlink_escape:/],
    ['fs_create_directory', { path: '../outside/sub' }, /^outside_roots:/],
    ['fs_move_file', { source: 'notes/a.txt', destination: 'link-out/a.txt' }, /^symlink_escape:/],
    ['fs_move_file', { source: 'notes/a.txt', destination: '../outside/a.txt' }, /^outside_roots:/],
    ['fs_move_file', { source: 'link-out/secret.txt', destination: 'stolen.txt' }, /^symlink_escape:/],
    ['fs_move_file', { source: '.', destination: 'elsewhere' }, /^root_refused:/],
  ];
  for (const [tool, args, expected] of writes) {
    const text = errorText(await mcp.call(tool, args));
    assert.match(text, expected, `${tool} ${JSON.stringify(args).slice(0, 60)} → ${text}`);
  }
  assert.equal(outsideListing(outside), ['secret.txt']);
  assert.is(fs.readFileSync(path.join(outside, 'secret.txt'), 'utf8'), 'top secret\n');
  assert.equal(fs.readdirSync(root).sort(), before);
  assert.ok(fs.existsSync(path.join(root, 'notes/a.txt')));
});

test('size limits: writes over 10 MiB are refused by the tool (registry level: /mcp already caps bodies at 1 MiB)', async ({
  server,
  root,
}) => {
  const direct = await connect(server.services.tools, caller('fs-user'));
  try {
    const text = errorText(
      await direct.call('fs_write_file', { path: 'big.txt', content: 'x'.repeat(10 * 1024 * 1024 + 1) }),
    );
    assert.match(text, /^content_too_large:/);
    assert.not.ok(fs.existsSync(path.join(root, 'big.txt')));
  } finally {
    await direct.close();
  }
});

test('size limits: reads over 10 MiB are refused, head and tail still work', async ({ mcp, root }) => {
  fs.writeFileSync(path.join(root, 'huge.log'), `first\n${'y'.repeat(10 * 1024 * 1024)}\nlast\n`);
  assert.match(errorText(await mcp.call('fs_read_text_file', { path: 'huge.log' })), /^file_too_large:/);
  assert.is(
    structured<{ content: string }>(await mcp.call('fs_read_text_file', { path: 'huge.log', head: 1 })).content,
    'first',
  );
  assert.is(
    structured<{ content: string }>(await mcp.call('fs_read_text_file', { path: 'huge.log', tail: 1 })).content,
    'last',
  );
  fs.unlinkSync(path.join(root, 'huge.log'));
});

test('head and tail decode characters split across read chunks', async ({ mcp, root }) => {
  // é is 2 bytes starting at odd offsets here, so the 64 KiB chunk boundary falls inside one.
  const first = `x${'é'.repeat(40_000)}`;
  fs.writeFileSync(path.join(root, 'accents.txt'), `${first}\nmiddle\n${first}\n`);
  const head = structured<{ content: string }>(await mcp.call('fs_read_text_file', { path: 'accents.txt', head: 1 }));
  assert.is(head.content, first);
  const tail = structured<{ content: string }>(await mcp.call('fs_read_text_file', { path: 'accents.txt', tail: 2 }));
  assert.is(tail.content, `middle\n${first}`);
  fs.unlinkSync(path.join(root, 'accents.txt'));
});

test("registry level (behind /mcp's own 403): write tools need the write scope; read tools work with the read scope alone", async ({
  server,
  root,
}) => {
  const reader = await connect(server.services.tools, caller('reader', [MCP_READ]));
  try {
    assert.match(
      errorText(await reader.call('fs_write_file', { path: 'by-reader.txt', content: 'x' })),
      /^insufficient_scope: .*mcp:tools:write/,
    );
    assert.match(
      errorText(await reader.call('fs_edit_file', { path: 'notes/a.txt', edits: [{ oldText: 'one', newText: '1' }] })),
      /^insufficient_scope:/,
    );
    assert.not.ok(fs.existsSync(path.join(root, 'by-reader.txt')));
    assert.is(fs.readFileSync(path.join(root, 'notes/a.txt'), 'utf8').startsWith('one'), true);
    assert.not.ok((await reader.call('fs_read_text_file', { path: 'notes/a.txt' })).isError);
  } finally {
    await reader.close();
  }
});

test.run();
