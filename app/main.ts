// `npm start`: validate config, start, print the banner, stop gracefully on SIGINT/SIGTERM.
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
  if (bootstrap.created) {
    logger.info({ email: bootstrap.email }, 'first admin created');
    if (bootstrap.generatedPassword) {
      // Printed once, on the terminal only (not in structured logs that may be shipped elsewhere).
      process.stdout.write(
        `\n  First admin: ${bootstrap.email}\n  Password:    ${bootstrap.generatedPassword}   (shown once; change it with \`npx remotemcp users passwd\`)\n\n`,
      );
    }
  }
  const storage = config.databaseUrl ? 'PostgreSQL server (DATABASE_URL)' : `${config.dataDir} (embedded PostgreSQL)`;
  logger.info(
    {
      mcpUrl: `${config.publicUrl}/mcp`,
      adminUrl: `${config.publicUrl}/admin`,
      dataDir: config.dataDir,
      listen: running.url,
      events: running.services.log.kind,
      startupMs: Date.now() - started,
    },
    `RemoteMCP ready — MCP URL: ${config.publicUrl}/mcp · admin: ${config.publicUrl}/admin · data: ${storage}`,
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
