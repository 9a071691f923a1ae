// `users erase EMAIL` without --yes asks for the address again (bin/commands.ts): the real CLI process
// on an embedded DATA_DIR, the answer piped to its stdin.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-erase-cli-'));
const env = {
  ...process.env,
  DATA_DIR: dataDir,
  ADMIN_PASSWORD: undefined,
  ADMIN_EMAIL: undefined,
  DATABASE_URL: undefined,
};

const cli = (args: string[], input = '') => {
  const result = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'remotemcp.js'), ...args], {
    env,
    input,
    encoding: 'utf8',
    // A loaded machine (a shared CI runner) can take a minute to start the CLI.
    timeout: 300_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
};

const test = suite('bin: users erase asks for the address again');
test.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

test('a wrong address, or none, erases nothing and exits 1 saying so; the right one erases', () => {
  const added = cli(['users', 'add', 'erin@example.com', '--password', 'erin-password', '--name', 'Erin']);
  assert.is(added.code, 0, added.stderr);
  for (const answer of ['someone-else@example.com\n', '']) {
    const refused = cli(['users', 'erase', 'erin@example.com'], answer);
    assert.is(refused.code, 1, JSON.stringify(answer));
    assert.match(refused.stdout, /Type the address to confirm/);
    assert.match(refused.stderr, /nothing erased \(confirm by typing the address, or pass --yes\)/);
  }
  assert.match(cli(['users', 'list']).stdout, /erin@example.com\s+Erin\s+user\s+active/);
  // Case and surrounding spaces do not matter (addresses are case-insensitive here).
  const erased = cli(['users', 'erase', 'erin@example.com'], '  Erin@Example.com \n');
  assert.is(erased.code, 0, erased.stderr);
  assert.match(erased.stdout, /erased [^:]+: 1 data key\(s\) destroyed/);
  const list = cli(['users', 'list']).stdout;
  assert.not.match(list, /erin@example.com/);
  assert.match(list, /erased-[^@\s]+@erased\.invalid\s+erased user\s+user\s+erased/);
});

test.run();
