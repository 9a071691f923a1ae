// Starts the real server for e2e tests: real HTTP on a free loopback port, a fresh database (a new
// database on TEST_DATABASE_URL's server when set, else embedded PGlite in a temp dir).
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../app/config.ts';
import { createLogger } from '../../app/logger.ts';
import { startServer, type RunningServer } from '../../app/server.ts';
import { createServerDatabase, serverUrl } from './databases.ts';

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });

export type TestServer = RunningServer & {
  /** PUBLIC_URL, e.g. http://127.0.0.1:41234 */
  base: string;
  adminEmail: string;
  adminPassword: string;
  dataDir: string;
  /** Environment used, to start a second instance on the same database. */
  env: Record<string, string>;
  stop(): Promise<void>;
};

export const startTestServer = async (
  env: Record<string, string> = {},
  options: { database?: { url: string; drop(): Promise<void> } | 'embedded'; sealPersonalData?: boolean } = {},
): Promise<TestServer> => {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-e2e-'));
  let database = options.database;
  let ownDatabase = false;
  if (!database && serverUrl()) {
    database = await createServerDatabase();
    ownDatabase = true;
  }
  const full: Record<string, string> = {
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATA_DIR: dataDir,
    ADMIN_EMAIL: 'admin@example.test',
    ADMIN_PASSWORD: 'admin-password-123',
    LOG_LEVEL: 'silent',
    ...(database && database !== 'embedded' ? { DATABASE_URL: database.url } : {}),
    ...env,
  };
  const config = loadConfig(full);
  const running = await startServer(
    config,
    createLogger(config.logLevel),
    options.sealPersonalData === undefined ? {} : { sealPersonalData: options.sealPersonalData },
  );
  return {
    ...running,
    base: config.publicUrl,
    adminEmail: config.adminEmail,
    adminPassword: full.ADMIN_PASSWORD!,
    dataDir,
    env: full,
    async stop() {
      await running.close();
      if (ownDatabase && database && database !== 'embedded') await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
};
