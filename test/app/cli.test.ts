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
const start = async (): Promise<Started> => {
  const port = await freePort();
  const began = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'app', 'main.ts')], {
    env: { ...baseEnv, PORT: String(port) },
    cwd: ROOT,
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  while (!output.includes('RemoteMCP ready')) {
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
  assert.match(banner, new RegExp(`MCP URL: http://localhost:${server.port}/mcp`));
  assert.match(banner, new RegExp(`admin: http://localhost:${server.port}/admin`));
  assert.ok(banner.includes(dataDir), 'the data directory is shown');
  assert.match(banner, /First admin: admin@localhost\n\s+Password:\s+\S{20,}/);
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
  assert.match(cli(['projections', 'status']).stdout, /users\s+running/);
  const unknown = cli(['frobnicate']);
  assert.is(unknown.code, 1);
  assert.match(unknown.stdout, /usage: npx remotemcp/);
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

test('restart: data survives, the admin is not created again', async () => {
  const server = await start();
  assert.not.match(server.output(), /First admin/);
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

test.run();
