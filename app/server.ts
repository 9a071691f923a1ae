// Starts the whole server (services + HTTP) and stops it gracefully. Used by app/main.ts and by e2e tests.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.ts';
import type { Logger, LogRing } from './logger.ts';
import { bootstrapAdmin, type Bootstrap } from './bootstrap.ts';
import { openServices, type Services } from './services.ts';
import { seedDemoData } from './seed.ts';
import { createApp } from '../http/app.ts';

export type RunningServer = {
  services: Services;
  server: http.Server;
  /** The bound address, e.g. http://127.0.0.1:41234 (PORT=0 picks a free port). */
  url: string;
  bootstrap: Bootstrap;
  close(): Promise<void>;
};

export const startServer = async (
  config: Config,
  logger: Logger,
  options: { logRing?: LogRing } = {},
): Promise<RunningServer> => {
  const services = await openServices(config, logger, options.logRing ? { logRing: options.logRing } : {});
  try {
    const bootstrap = await bootstrapAdmin(services);
    if (config.seedDemoData) for (const line of await seedDemoData(services)) logger.info(line);
    const app = createApp(services);
    const server = http.createServer(app.callback());
    // Slowloris guard; long-lived SSE responses are not affected by requestTimeout once headers are sent.
    server.headersTimeout = 20_000;
    server.requestTimeout = 60_000;
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    let closing: Promise<void> | undefined;
    return {
      services,
      server,
      url: `http://${host}:${address.port}`,
      bootstrap,
      close: () =>
        (closing ??= (async () => {
          // Stop accepting, let in-flight requests finish (bounded), then close the database.
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeIdleConnections();
          const force = setTimeout(() => server.closeAllConnections(), 5_000);
          await closed;
          clearTimeout(force);
          await services.close();
        })()),
    };
  } catch (error) {
    await services.close();
    throw error;
  }
};
