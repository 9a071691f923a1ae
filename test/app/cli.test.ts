// The real processes: `npm start`'s entry (app/main.ts) and the CLI (bin/remotemcp.js) on an embedded
// DATA_DIR — start-up banner, readiness, graceful stop, data surviving a restart, bad config.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '../support/server.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-cli-'));
const baseEnv = {
  ...process.env,
  DATA_DIR: dataDir,
  LOG_LEVEL: 'info',
  ADMIN_PASSWORD: undefined,
  ADMIN_EMAIL: undefined,
  DATABASE_URL: undefined,
};

const cli = (args: string[], env: Record<string, string | undefined> = {}) => {
  const result = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'remotemcp.js'), ...args], {
    env: { ...baseEnv, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
};

type Started = { stop(): Promise<number | null>; output(): string; readyMs: number; port: number; pid: number };
const start = async (env: Record<string, string> = {}): Promise<Started> => {
  const port = await freePort();
  const began = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'app', 'main.ts')], {
    env: { ...baseEnv, PORT: String(port), ...env },
    cwd: ROOT,
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // The banner, not the log line of the same name that is written just before it.
  while (!output.includes('RemoteMCP ready — version')) {
    if (Date.now() - began > 30_000 || child.exitCode !== null) throw new Error(`server did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    readyMs: Date.now() - began,
    port,
    pid: child.pid!,
    output: () => output,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
};

const test = suite('app: npm start and the CLI on an embedded DATA_DIR');
test.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

test('first start: banner with MCP URL, admin URL and data dir; generated admin password printed once; ready', async () => {
  const server = await start();
  process.stdout.write(`    (start-up to ready: ${server.readyMs} ms)\n`);
  const banner = server.output();
  // Plain text for a person, one fact a line, not a JSON log line.
  assert.match(
    banner,
    new RegExp(`\n  MCP URL +http://localhost:${server.port}/mcp +← add this URL to your MCP client\n`),
  );
  assert.match(banner, new RegExp(`\n  Admin panel +http://localhost:${server.port}/admin\n`));
  assert.match(banner, new RegExp(`\n  Data +${dataDir} \\(embedded PostgreSQL\\)\n`));
  assert.match(banner, /\n  First admin +admin@localhost\n  Password +\S{20,}\n +\(shown once; change it with/);
  assert.not.match(banner, /Warning:/);
  const ready = await fetch(`http://127.0.0.1:${server.port}/readyz`);
  assert.is(ready.status, 200);
  // The embedded database belongs to this process: the CLI refuses to open it meanwhile.
  const busy = cli(['users', 'list']);
  assert.is(busy.code, 1);
  assert.match(busy.stderr, new RegExp(`in use by process ${server.pid}`));
  assert.is(await server.stop(), 0, 'SIGTERM stops gracefully with exit code 0');
});

test('CLI: users add / list / disable; idempotent re-runs', () => {
  const added = cli(['users', 'add', 'carol@example.com', '--password', 'carol-password', '--name', 'Carol']);
  assert.is(added.code, 0, added.stderr);
  assert.match(added.stdout, /created carol@example.com \(user\)/);
  assert.match(cli(['users', 'add', 'carol@example.com']).stdout, /already exists/);
  const list = cli(['users', 'list']);
  assert.match(list.stdout, /admin@localhost\s+Administrator\s+admin,user\s+active/);
  assert.match(list.stdout, /carol@example.com\s+Carol\s+user\s+active/);
  assert.match(cli(['users', 'disable', 'carol@example.com']).stdout, /disabled carol@example.com/);
  assert.match(cli(['users', 'disable', 'carol@example.com']).stdout, /already disabled/);
  const weak = cli(['users', 'add', 'dave@example.com', '--password', 'short']);
  assert.is(weak.code, 1);
  assert.match(weak.stderr, /at least 8 characters/);
  const status = cli(['projections', 'status']);
  assert.is(status.code, 0, status.stdout);
  assert.match(
    status.stdout,
    /^projection\s+state\s+events handled\s+events behind\s+time behind\s+last moved\s+error\n/,
  );
  assert.match(status.stdout, /\nusers\s+caught up\s+\d+\s+0\s+-\s+\d+ (s|min) ago\n/);
  assert.match(status.stdout, /\nall read models are caught up\n$/, status.stdout);
});

test('CLI: clients resource-server <id> on|off marks a confidential client; idempotent; public or unknown refused', () => {
  const added = cli(['clients', 'add', 'Resource server', '--redirect-uri', 'https://rs.example/cb']);
  assert.is(added.code, 0, added.stderr);
  const clientId = /client_id:\s+(\S+)/.exec(added.stdout)?.[1];
  assert.ok(clientId, added.stdout);
  assert.match(cli(['clients', 'resource-server', clientId, 'on']).stdout, /is now a resource server/);
  assert.match(cli(['clients', 'resource-server', clientId, 'on']).stdout, /was already a resource server/);
  assert.match(cli(['clients', 'list']).stdout, new RegExp(`${clientId}.*\\btrue\\b`));
  assert.match(cli(['clients', 'resource-server', clientId, 'off']).stdout, /is now not a resource server/);
  const bad = cli(['clients', 'resource-server', clientId, 'maybe']);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /on or off/);
  const unknown = cli(['clients', 'resource-server', 'no-such-client', 'on']);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /no such client/);
});

test('CLI: clients add --user makes a machine client of a new service user, which has no password to set', () => {
  const added = cli(['clients', 'add', 'Nightly', '--user', 'bot@example.com', '--scope', 'mcp:tools:read']);
  assert.is(added.code, 0, added.stderr);
  assert.match(added.stdout, /created service user bot@example.com \(role service, no password, cannot sign in\)/);
  assert.match(added.stdout, /client_id:\s+[0-9a-f-]{36}\n/);
  assert.match(added.stdout, /acts for:\s+bot@example.com\s+scope: mcp:tools:read/);
  const listed = cli(['clients', 'list']);
  assert.match(listed.stdout, /Nightly\s+admin\s+client_secret_basic\s+active\s+bot@example.com/);
  const passwd = cli(['users', 'passwd', 'bot@example.com', '--password', 'bot-password-1']);
  assert.is(passwd.code, 1);
  assert.match(passwd.stderr, /a service user has no password and cannot sign in/);
  const person = cli(['clients', 'add', 'Impostor', '--user', 'carol@example.com']);
  assert.is(person.code, 1);
  assert.match(person.stderr, /carol@example.com is a person's account, not a service user/);
});

test('restart: data survives, the admin is not created again; ADMIN_* set then is said to be ignored', async () => {
  const server = await start({ ADMIN_EMAIL: 'boss@example.com', ADMIN_PASSWORD: 'boss-password-1' });
  assert.not.match(server.output(), /First admin/);
  assert.match(
    server.output(),
    /\n  Warning: ADMIN_EMAIL \(boss@example.com\) is ignored: an admin already exists\.\n/,
  );
  assert.match(server.output(), /\n  Warning: ADMIN_PASSWORD is ignored: an admin already exists\./);
  await server.stop();
  assert.match(cli(['users', 'list']).stdout, /carol@example.com\s+Carol\s+user\s+disabled/);
});

test('bad configuration: one clear message naming the variable, exit 1', () => {
  for (const [variable, value] of [
    ['PORT', 'abc'],
    ['PUBLIC_URL', 'http://example.com'],
    ['ACCESS_TOKEN_TTL', 'soon'],
  ] as const) {
    const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'app', 'main.ts')], {
      env: { ...baseEnv, [variable]: value },
      encoding: 'utf8',
      cwd: ROOT,
    });
    assert.is(result.status, 1);
    assert.match(result.stderr.trim(), new RegExp(`^Invalid configuration: ${variable} `));
    assert.is(result.stderr.trim().split('\n').length, 1);
  }
});

test('CLI: an unknown command or option says so on stderr and exits 2; help exits 0', () => {
  const unknown = cli(['frobnicate']);
  assert.is(unknown.code, 2);
  assert.is(unknown.stdout, '');
  assert.match(unknown.stderr, /^remotemcp: unknown command 'frobnicate'\n/);
  assert.match(unknown.stderr, /usage: npx remotemcp <command>/);
  const option = cli(['users', 'add', 'x@example.com', '--bogus']);
  assert.is(option.code, 2);
  assert.match(option.stderr, /^remotemcp users add: Unknown option '--bogus'/);
  const help = cli(['help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /usage: npx remotemcp <command>/);
  assert.is(cli([]).code, 2);
});

test.run();
