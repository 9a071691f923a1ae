// Two real server processes (app/main.ts) on one PostgreSQL database behind a round-robin TCP proxy
// (no sticky sessions), and a real OAuth token obtained through the proxy. Used by bench/soak and the
// instance-kill fault test (test/faults/instance-kill.test.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServerDatabase } from './databases.ts';
import { freePort, type TestServer } from './server.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';
import { obtainCode, pkce, register, tokenRequest } from '../http/oauth/support.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ADMIN = { email: 'admin@example.test', password: 'admin-password-123' };

export type Instance = { port: number; process: ChildProcess; rssMb(): number; exited: Promise<number | null> };
export type Cluster = {
  base: string;
  databaseUrl: string;
  instances: Instance[];
  proxy: TcpProxy;
  token: string;
  close(): Promise<void>;
};

const startInstance = async (port: number, env: Record<string, string>): Promise<Instance> => {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'app', 'main.ts')], {
    env: { ...process.env, ...env, PORT: String(port) },
    cwd: ROOT,
  });
  let output = '';
  let ready = false;
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
    ready ||= output.includes('RemoteMCP ready');
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!ready) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`instance on ${port} did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    process: child,
    exited,
    rssMb() {
      try {
        const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
        return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
      } catch {
        return 0;
      }
    },
  };
};

export const startCluster = async (): Promise<Cluster> => {
  const database = await createServerDatabase();
  const ports = [await freePort(), await freePort()];
  const proxy = await startTcpProxy('127.0.0.1', ports);
  const base = `http://127.0.0.1:${proxy.port}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-cluster-'));
  const env = {
    DATABASE_URL: database.url,
    PUBLIC_URL: base,
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    LOG_LEVEL: 'info',
    MCP_RATE_LIMIT_PER_MINUTE: '1000000000',
  };
  // One after the other: the first creates the admin, the second finds it.
  const instances = [await startInstance(ports[0]!, env)];
  instances.push(await startInstance(ports[1]!, env));
  const registered = await register(base, {
    client_name: 'soak',
    redirect_uris: ['http://127.0.0.1:9999/callback'],
    token_endpoint_auth_method: 'none',
  });
  if (registered.status !== 201) throw new Error(`registration failed: ${JSON.stringify(registered.body)}`);
  const { verifier, challenge } = pkce();
  const fake = { base, adminEmail: ADMIN.email, adminPassword: ADMIN.password } as unknown as TestServer;
  const callback = await obtainCode(fake, {
    response_type: 'code',
    client_id: registered.body.client_id,
    redirect_uri: 'http://127.0.0.1:9999/callback',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 's',
    scope: 'mcp:tools:read mcp:tools:write',
  });
  const exchange = await tokenRequest(base, {
    grant_type: 'authorization_code',
    code: callback.searchParams.get('code')!,
    redirect_uri: 'http://127.0.0.1:9999/callback',
    code_verifier: verifier,
    client_id: registered.body.client_id,
  });
  if (exchange.status !== 200) throw new Error(`token exchange failed: ${JSON.stringify(exchange.body)}`);
  return {
    base,
    databaseUrl: database.url,
    instances,
    proxy,
    token: (exchange.body as { access_token: string }).access_token,
    async close() {
      for (const instance of instances) {
        if (instance.process.exitCode === null && instance.process.signalCode === null)
          instance.process.kill('SIGTERM');
        await instance.exited;
      }
      await proxy.close();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
};
