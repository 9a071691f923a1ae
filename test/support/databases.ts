// Real databases for tests: embedded PGlite (always), and a fresh database on TEST_DATABASE_URL's server
// (dropped afterwards) when that variable is set.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { testServers } from '../../app/config.ts';
import { openDatabase, type Database } from '../../db/database.ts';
import { migrate } from '../../db/migrate.ts';

export type TestDatabase = { db: Database; url: string; dispose(): Promise<void> };

export const embeddedDatabase = async (): Promise<TestDatabase> => {
  const db = await openDatabase({ kind: 'embedded', dataDir: undefined });
  await migrate(db);
  return { db, url: db.url, dispose: () => db.close() };
};

export const serverUrl = (): string | undefined => testServers().databaseUrl;

/** Creates an empty database on the test server; returns its URL and a dropper. */
export const createServerDatabase = async (): Promise<{ url: string; drop(): Promise<void> }> => {
  const base = serverUrl();
  if (!base) throw new Error('TEST_DATABASE_URL not set');
  const name = `rmcp_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
};

export const serverDatabase = async (): Promise<TestDatabase> => {
  const created = await createServerDatabase();
  const db = await openDatabase({ kind: 'server', url: created.url, max: 12 });
  await migrate(db);
  return {
    db,
    url: created.url,
    async dispose() {
      await db.close();
      await created.drop();
    },
  };
};

/** Embedded unless TEST_DATABASE_URL is set (then the faster real server). */
export const anyDatabase = (): Promise<TestDatabase> => (serverUrl() ? serverDatabase() : embeddedDatabase());
