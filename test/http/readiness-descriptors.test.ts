// /readyz reports file-descriptor exhaustion: the real server in a child process whose open-file limit is
// lowered to 256 (`ulimit -n`), filled with idle connections until 90 % of the limit is in use → 503
// naming the count; the connections closed → ready again. Linux only (/proc); skipped elsewhere.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServerDatabase, serverUrl } from '../support/databases.ts';
import { freePort } from '../support/server.ts';
import { skipSuite } from '../support/skip.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const LIMIT = 256;

type Context = {
  child: ChildProcess;
  port: number;
  dataDir: string;
  database: { url: string; drop(): Promise<void> } | undefined;
};
const NAME = 'http: /readyz and the open-file limit';
const test = suite<Context>(NAME);

const openDescriptors = (pid: number) => fs.readdirSync(`/proc/${pid}/fd`).length;
const readyz = async (port: number) => {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: response.status, body: (await response.json()) as { checks: Record<string, string> } };
};

test.before(async (context) => {
  context.port = await freePort();
  context.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-fd-'));
  context.database = serverUrl() ? await createServerDatabase() : undefined;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    PORT: String(context.port),
    HOST: '127.0.0.1',
    DATA_DIR: context.dataDir,
    ADMIN_PASSWORD: 'admin-password-123',
    LOG_LEVEL: 'info', // the start-up line is logged at info
    ...(context.database ? { DATABASE_URL: context.database.url } : {}),
  };
  // `exec` keeps one process, so the pid is the server's and the limit applies to it.
  context.child = spawn('sh', ['-c', `ulimit -n ${LIMIT} && exec "${process.execPath}" --import tsx app/main.ts`], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  context.child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  context.child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const started = Date.now();
  while (!output.includes('RemoteMCP ready')) {
    if (Date.now() - started > 60_000 || context.child.exitCode !== null)
      throw new Error(`server did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});

test.after(async ({ child, dataDir, database }) => {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  await database?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('90 % of the open-file limit in use → /readyz 503 naming it; connections closed → 200 again', async ({
  child,
  port,
}) => {
  assert.is((await readyz(port)).status, 200);
  const pid = child.pid!;
  const sockets: net.Socket[] = [];
  // Idle connections, each one descriptor in the server, up to 92 % of the limit.
  while (openDescriptors(pid) < LIMIT * 0.92) {
    const batch = Math.max(1, Math.floor(LIMIT * 0.92) - openDescriptors(pid));
    await Promise.all(
      Array.from(
        { length: batch },
        () =>
          new Promise<void>((resolve) => {
            const socket = net.connect(port, '127.0.0.1', () => resolve());
            socket.on('error', () => resolve());
            sockets.push(socket);
          }),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const exhausted = await readyz(port);
  assert.is(exhausted.status, 503);
  // The fill may overshoot to the limit itself, where not even /proc can be read: that is named too.
  assert.match(
    exhausted.body.checks.file_descriptors!,
    new RegExp(`^(\\d+ of ${LIMIT} open file descriptors in use|no file descriptor left)$`),
  );
  for (const socket of sockets) socket.destroy();
  const started = Date.now();
  while ((await readyz(port)).status !== 200) {
    if (Date.now() - started > 5_000) assert.unreachable('still not ready 5 s after the connections closed');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
});

if (fs.existsSync('/proc/self/fd')) test.run();
else skipSuite(NAME, 'no /proc on this system', 1);
