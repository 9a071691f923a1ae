// Applies migrations/*.sql with node-pg-migrate (its lock table and advisory lock make concurrent
// start-ups safe). Called on start and by `remotemcp migrate`.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import type { Database } from './database.ts';
import type { Logger } from 'pino';

export const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'migrations');

export const migrate = async (db: Database, logger?: Logger): Promise<string[]> => {
  const client = await db.connect();
  try {
    const applied = await runner({
      dbClient: client,
      dir: MIGRATIONS_DIR,
      direction: 'up',
      migrationsTable: 'schema_migrations',
      checkOrder: true,
      log: (message: string) => logger?.debug({ migration: message }, 'migration'),
      logger: {
        debug: () => undefined,
        info: () => undefined,
        warn: (m: string) => logger?.warn(m),
        error: (m: string) => logger?.error(m),
      },
    });
    const names = applied.map((migration) => migration.name);
    if (names.length > 0) logger?.info({ applied: names }, 'migrations applied');
    return names;
  } finally {
    client.release();
  }
};
