// `remotemcp users verify-email` as a real process on an embedded DATA_DIR: output, idempotence, the
// event and its CLI actor, the `verified` column of `users list`, and an unknown user's error; and
// `clients add --post-logout-redirect-uri` (OIDC RP-Initiated Logout 1.0 §3.1).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-verify-'));

const cli = (args: string[]) => {
  const result = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'remotemcp.js'), ...args], {
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ADMIN_PASSWORD: undefined,
      ADMIN_EMAIL: undefined,
      DATABASE_URL: undefined,
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
};

const test = suite('app: remotemcp users verify-email');
test.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

test('marks once, says so on a re-run, records a UserEmailVerified event by the CLI', () => {
  assert.is(cli(['users', 'add', 'erin@example.com', '--password', 'erin-password']).code, 0);
  const first = cli(['users', 'verify-email', 'erin@example.com']);
  assert.is(first.code, 0, first.stderr);
  assert.is(first.stdout.trim(), 'marked erin@example.com verified');
  const again = cli(['users', 'verify-email', 'erin@example.com']);
  assert.is(again.code, 0);
  assert.is(again.stdout.trim(), 'erin@example.com was already verified');
  const list = cli(['users', 'list']);
  assert.match(list.stdout, /verified/);
  assert.match(list.stdout.split('\n').find((line) => line.includes('erin@example.com')) ?? '', /\byes\b/);
  const exported = cli(['events', 'export'])
    .stdout.trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; metadata: { actor: unknown } });
  const verified = exported.filter((event) => event.type === 'UserEmailVerified');
  assert.is(verified.length, 1);
  assert.equal(verified[0]!.metadata.actor, { type: 'system', id: 'cli' });
});

test('an unknown user is an error and writes nothing', () => {
  const before = cli(['events', 'export']).stdout.trim().split('\n').length;
  const unknown = cli(['users', 'verify-email', 'nobody@example.com']);
  assert.is.not(unknown.code, 0);
  assert.match(unknown.stderr, /user_not_found|no such user/);
  assert.is(cli(['events', 'export']).stdout.trim().split('\n').length, before);
});

test('clients add --post-logout-redirect-uri: stored on the client; refused for a machine client', () => {
  const added = cli([
    'clients',
    'add',
    'Web app',
    '--redirect-uri',
    'https://app.example/cb',
    '--post-logout-redirect-uri',
    'https://app.example/bye',
  ]);
  assert.is(added.code, 0, added.stderr);
  const registered = cli(['events', 'export'])
    .stdout.trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; data: { postLogoutRedirectUris?: string[] } })
    .filter((event) => event.type === 'ClientRegistered');
  assert.equal(registered.at(-1)!.data.postLogoutRedirectUris, ['https://app.example/bye']);
  const machine = cli([
    'clients',
    'add',
    'Bot',
    '--user',
    'bot@example.com',
    '--post-logout-redirect-uri',
    'https://a.example/',
  ]);
  assert.is.not(machine.code, 0);
  assert.match(machine.stderr, /no --redirect-uri or --post-logout-redirect-uri/);
});

test.run();
