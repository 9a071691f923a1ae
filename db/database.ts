// One PostgreSQL access path for both shapes: a real server (DATABASE_URL) or embedded PGlite
// served to the ordinary `pg` Pool through @electric-sql/pglite-socket (so `npm start` needs nothing else).
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';

export type Row = Record<string, unknown>;

/**
 * A statement each connection parses and plans once, then only binds and executes (pg's named
 * statements; PostgreSQL protocol "extended query": Parse once, Bind/Execute per use). For the hot
 * paths: an event append's planning cost more server CPU than its execution.
 */
export type Prepared = {
  readonly name: string;
  readonly text: string;
  /** How its result's columns are parsed, when not pg's defaults (pg's CustomTypesConfig). */
  readonly types?: pg.CustomTypesConfig;
};

/** Named by a hash of its text, so one name never stands for two statements on a connection. */
export const prepared = (text: string, types?: pg.CustomTypesConfig): Prepared => ({
  name: `q_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`,
  text,
  ...(types ? { types } : {}),
});

export type Queryable = {
  query<R extends Row = Row>(text: string | Prepared, params?: unknown[]): Promise<pg.QueryResult<R>>;
};

/** pg's query config (a fresh object: pg writes the values into the config it is given). */
const config = (text: string | Prepared, params: unknown[] | undefined): pg.QueryConfig => ({
  ...(typeof text === 'string'
    ? { text }
    : { name: text.name, text: text.text, ...(text.types ? { types: text.types } : {}) }),
  ...(params ? { values: params } : {}),
});

export type Database = Queryable & {
  readonly url: string;
  readonly embedded: boolean;
  readonly pool: pg.Pool;
  /** Runs fn in one transaction (BEGIN … COMMIT, ROLLBACK on throw). Never query the pool from inside fn. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** A dedicated connection (for session advisory locks and LISTEN). Release it when done. */
  connect(): Promise<pg.PoolClient>;
  close(): Promise<void>;
};

export type DatabaseOptions =
  | { kind: 'server'; url: string; max?: number; logger?: Logger }
  | { kind: 'embedded'; dataDir: string | undefined; logger?: Logger };

type Closer = () => Promise<void>;

/**
 * Embedded: pglite-socket queues protocol messages per connection but only keeps a connection's
 * messages together inside a transaction, so two connections' extended-protocol queries can
 * interleave (one's Bind meets the other's Parse). One pooled connection avoids that; PGlite runs one
 * statement at a time anyway. "Dedicated" connections then share it: their queries wait their turn
 * in the pool, and session state (advisory locks) is the one PGlite session.
 */
const sharedClient = (pool: pg.Pool): pg.PoolClient => {
  const client = new EventEmitter() as EventEmitter & { query: unknown; release: () => void };
  client.query = (text: string, params?: unknown[]) => pool.query(text, params);
  client.release = () => undefined;
  return client as unknown as pg.PoolClient;
};

/**
 * A pool client, ready for named statements. PGlite has one backend session behind every socket
 * connection: statements an earlier pg client prepared (before an idle timeout or a lost connection)
 * still exist there, and a new client preparing one of the same name would fail. Its first use drops them.
 */
const checkout = async (pool: pg.Pool, embedded: boolean, fresh: WeakSet<pg.PoolClient>) => {
  const client = await pool.connect();
  if (embedded && !fresh.has(client)) {
    try {
      await client.query('DEALLOCATE ALL');
    } catch (error) {
      client.release(true);
      throw error;
    }
    fresh.add(client);
  }
  return client;
};

const wrap = (pool: pg.Pool, url: string, embedded: boolean, extraClose: Closer): Database => {
  const fresh = new WeakSet<pg.PoolClient>();
  return {
    url,
    embedded,
    pool,
    async query(text, params) {
      if (!embedded) return pool.query(config(text, params));
      const client = await checkout(pool, embedded, fresh);
      try {
        const result = await client.query(config(text, params));
        client.release();
        return result;
      } catch (error) {
        // An error PostgreSQL answered leaves the connection usable; any other (a lost socket) drops it.
        client.release(typeof (error as { code?: unknown }).code === 'string' ? undefined : (error as Error));
        throw error;
      }
    },
    async transaction(fn) {
      const client = await checkout(pool, embedded, fresh);
      try {
        await client.query('BEGIN');
        const result = await fn({ query: (text, params) => client.query(config(text, params)) });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    connect: () => (embedded ? Promise.resolve(sharedClient(pool)) : pool.connect()),
    async close() {
      await pool.end();
      await extraClose();
    },
  };
};

export const openDatabase = async (options: DatabaseOptions): Promise<Database> => {
  if (options.kind === 'server') {
    // Two connections are held for good (the projections' leadership locks and the event log's LISTEN);
    // the rest serve requests, MCP streams and projection batches under load.
    const pool = new pg.Pool({ connectionString: options.url, max: options.max ?? 25 });
    // An idle client losing its connection (server restart) must not crash the process.
    pool.on('error', (error) => options.logger?.warn({ err: error.message }, 'idle database connection lost'));
    return wrap(pool, options.url, false, async () => undefined);
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  let dataDir: string | undefined;
  if (options.dataDir) {
    dataDir = path.join(options.dataDir, 'pgdata');
    fs.mkdirSync(dataDir, { recursive: true });
  }
  const db = await PGlite.create(dataDir ? { dataDir } : {});
  const maxConnections = 4;
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections });
  await server.start();
  const url = `postgres://postgres@${server.getServerConn()}/postgres?sslmode=disable`;
  const pool = new pg.Pool({ connectionString: url, max: 1 });

  pool.on('error', (error) => options.logger?.warn({ err: error.message }, 'embedded database connection lost'));
  return wrap(pool, url, true, async () => {
    await server.stop();
    await db.close();
  });
};
