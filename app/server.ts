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
  /** The first listener (127.0.0.1 for HOST=localhost). */
  server: http.Server;
  /** Every listener: HOST=localhost listens on 127.0.0.1 and, where the machine has IPv6, on ::1. */
  servers: http.Server[];
  /** The bound address, e.g. http://127.0.0.1:41234 (PORT=0 picks a free port). */
  url: string;
  /** Every bound address, e.g. [http://127.0.0.1:3000, http://[::1]:3000]. */
  urls: string[];
  /** The URL to tell people: PUBLIC_URL, or http://localhost:<bound port> when it is unset (PORT=0 too). */
  publicUrl: string;
  bootstrap: Bootstrap;
  close(): Promise<void>;
};

const newServer = (handler: http.RequestListener): http.Server => {
  const server = http.createServer(handler);
  // Slowloris guard; long-lived SSE responses are not affected by requestTimeout once headers are sent.
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  return server;
};

const listenOn = (server: http.Server, port: number, host: string): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

/** Errors that mean "this machine has no IPv6 loopback", not "the port is taken". */
const NO_IPV6 = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EPROTONOSUPPORT']);

/**
 * HOST=localhost: browsers and MCP clients resolve `localhost` to ::1 or 127.0.0.1 as they please, so
 * both are served, on one port. A machine without IPv6 gets 127.0.0.1 alone; a port taken on ::1 by
 * another program stops start-up (`localhost` would reach that program). Any other HOST is one address.
 */
const listen = async (config: Config, handler: http.RequestListener, logger: Logger): Promise<http.Server[]> => {
  const first = newServer(handler);
  if (config.host.toLowerCase() !== 'localhost') {
    await listenOn(first, config.port, config.host);
    return [first];
  }
  await listenOn(first, config.port, '127.0.0.1');
  const { port } = first.address() as AddressInfo;
  const second = newServer(handler);
  try {
    await listenOn(second, port, '::1');
    return [first, second];
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (NO_IPV6.has(code)) {
      logger.info({ code }, 'no IPv6 loopback on this machine: listening on 127.0.0.1 only');
      return [first];
    }
    await new Promise<void>((resolve) => first.close(() => resolve()));
    throw error;
  }
};

export const startServer = async (
  config: Config,
  logger: Logger,
  options: { logRing?: LogRing; sealPersonalData?: boolean } = {},
): Promise<RunningServer> => {
  const services = await openServices(config, logger, options);
  try {
    const bootstrap = await bootstrapAdmin(services);
    if (config.seedDemoData)
      for (const line of await seedDemoData({
        users: services.users,
        oauth: services.oauth,
        notes: services.tools.memory.store,
      }))
        logger.info(line);
    const app = createApp(services);
    const servers = await listen(config, app.callback(), logger);
    const server = servers[0]!;
    const address = server.address() as AddressInfo;
    const urls = servers.map((each) => {
      const bound = each.address() as AddressInfo;
      return `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
    });
    let closing: Promise<void> | undefined;
    return {
      services,
      server,
      servers,
      url: urls[0]!,
      urls,
      publicUrl: config.publicUrlFollowsRequest ? `http://localhost:${address.port}` : config.publicUrl,
      bootstrap,
      close: () =>
        (closing ??= (async () => {
          // Stop accepting, let in-flight requests finish (bounded), then close the database.
          await Promise.all(
            servers.map(async (each) => {
              const closed = new Promise<void>((resolve) => each.close(() => resolve()));
              each.closeIdleConnections();
              const force = setTimeout(() => each.closeAllConnections(), 5_000);
              await closed;
              clearTimeout(force);
            }),
          );
          await services.close();
        })()),
    };
  } catch (error) {
    await services.close();
    throw error;
  }
};
