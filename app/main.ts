// `npm start`: validate config, start, print the banner, stop gracefully on SIGINT/SIGTERM.
import { banner } from './banner.ts';
import { VERSION } from './version.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger, LogRing } from './logger.ts';
import { startServer } from './server.ts';

const started = Date.now();
let config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
const ring = new LogRing();
const logger = createLogger(config.logLevel, ring);

try {
  const running = await startServer(config, logger, { logRing: ring });
  const { bootstrap } = running;
  if (bootstrap.created) logger.info({ email: bootstrap.email }, 'first admin created');
  for (const warning of bootstrap.created ? [] : bootstrap.ignored) logger.warn(warning);
  const storage = config.databaseUrl ? 'PostgreSQL server (DATABASE_URL)' : `${config.dataDir} (embedded PostgreSQL)`;
  logger.info(
    {
      mcpUrl: `${running.publicUrl}/mcp`,
      adminUrl: `${running.publicUrl}/admin`,
      dataDir: config.dataDir,
      listen: running.urls,
      events: running.services.log.kind,
      startupMs: Date.now() - started,
    },
    'RemoteMCP ready',
  );
  // For the person at the terminal; the generated password goes only here, never into shipped logs.
  process.stdout.write(
    banner({
      version: VERSION,
      publicUrl: running.publicUrl,
      listen: running.urls.join(' and '),
      storage,
      events: config.eventStoreUrl ? 'KurrentDB (EVENTSTORE_URL)' : 'PostgreSQL, beside the read models',
      admin: bootstrap.created ? bootstrap : undefined,
      warnings: bootstrap.created ? [] : bootstrap.ignored,
    }),
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    running
      .close()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} catch (error) {
  logger.fatal({ err: error }, 'start-up failed');
  process.exit(1);
}
