// Which projections this instance runs: one session advisory lock per projection, across instances.
// All of them are held on one connection (a pool connection per projection would pin most of the
// pool); if it drops, every leadership ends together.
import { EventEmitter } from 'node:events';
import type pg from 'pg';
import type { Database } from '../db/database.ts';

export const lockKey = (name: string) => `remotemcp:projection:${name}`;

export class Leadership {
  private readonly emitter = new EventEmitter();
  private connection: Promise<pg.PoolClient> | undefined;
  /** Stops listening for the connection's errors once it is handed back. */
  private readonly detach = new Map<pg.PoolClient, () => void>();
  /** One query at a time on the shared client (pg deprecates overlapping queries on a client). */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly db: Database) {
    this.emitter.setMaxListeners(0);
  }

  private client(): Promise<pg.PoolClient> {
    if (!this.connection) {
      const connecting = this.db.connect().then((client) => {
        const onError = () => {
          if (this.connection === connecting) this.connection = undefined;
          this.detach.delete(client);
          client.release(true);
          this.emitter.emit('lost');
        };
        client.once('error', onError);
        this.detach.set(client, () => client.off('error', onError));
        return client;
      });
      connecting.catch(() => {
        if (this.connection === connecting) this.connection = undefined;
      });
      this.connection = connecting;
    }
    return this.connection;
  }

  private run(client: pg.PoolClient, sql: string, name: string) {
    const query = this.chain.then(() => client.query<{ ok: boolean }>(sql, [lockKey(name)]));
    this.chain = query.catch(() => undefined);
    return query;
  }

  /** True when this instance now leads `name` (nobody else held its lock). */
  async acquire(name: string): Promise<boolean> {
    const client = await this.client();
    const result = await this.run(client, 'SELECT pg_try_advisory_lock(hashtext($1)) AS ok', name);
    return result.rows[0]?.ok === true;
  }

  /** Gives up `name` (another instance may take it). Errors mean the connection, and the lock, are gone. */
  async release(name: string): Promise<void> {
    const client = await this.connection?.catch(() => undefined);
    if (client) await this.run(client, 'SELECT pg_advisory_unlock(hashtext($1)) AS ok', name).catch(() => undefined);
  }

  /** Resolves when every leadership ends: the lock connection was lost, or endAll() was called. */
  lost(): Promise<void> {
    return new Promise((resolve) => this.emitter.once('lost', () => resolve()));
  }

  endAll(): void {
    this.emitter.emit('lost');
  }

  /** Hands the lock connection back (after every lock was released). */
  async close(): Promise<void> {
    const client = await this.connection?.catch(() => undefined);
    this.connection = undefined;
    if (client && this.detach.has(client)) {
      this.detach.get(client)!();
      this.detach.delete(client);
      client.release();
    }
  }
}
