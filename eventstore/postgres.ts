// PostgreSQL adapter (the default; also embedded PGlite). Tables: migrations/0001_event-log.sql.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Database, Queryable } from '../db/database.ts';
import {
  DuplicateEventError,
  START,
  WrongExpectedVersionError,
  type AppendResult,
  type EventLog,
  type ExpectedVersion,
  type GlobalPosition,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type StreamMetadata,
  type SubscribeOptions,
} from './port.ts';
import { Waker, pollingSubscription } from './polling.ts';

const NOTIFY_CHANNEL = 'remotemcp_events';

type EventRow = {
  global_position: string;
  transaction_id: string;
  stream_id: string;
  stream_revision: string;
  event_id: string;
  event_type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  created_at: Date;
};

const columns = (alias = '') =>
  ['global_position::text', 'transaction_id::text', 'stream_id', 'stream_revision::text', 'event_id::text', 'event_type', 'data', 'metadata', 'created_at']
    .map((column) => `${alias}${column}`)
    .join(', ');
// Aliased columns keep the bare names the row type expects.
const COLUMNS = columns();

const toRecorded = (row: EventRow): RecordedEvent => ({
  id: row.event_id,
  stream: row.stream_id,
  revision: BigInt(row.stream_revision),
  position: { commit: BigInt(row.transaction_id), prepare: BigInt(row.global_position) },
  type: row.event_type,
  data: row.data,
  metadata: row.metadata ?? {},
  createdAt: row.created_at,
});

/** Events whose retention ($tb, $maxCount, $maxAge) hides them; shared by reads and the cleanup. */
const RETAINED = `(s.stream_id IS NULL OR (
    (s.truncate_before IS NULL OR e.stream_revision >= s.truncate_before)
    AND (s.max_count IS NULL OR e.stream_revision > s.version - s.max_count)
    AND (s.max_age_seconds IS NULL OR e.created_at >= now() - make_interval(secs => s.max_age_seconds))))`;

export type PostgresEventLogOptions = { pollMs?: number; notify?: boolean };

export class PostgresEventLog implements EventLog {
  readonly kind = 'postgres' as const;
  private readonly waker = new Waker();
  private listener: pg.PoolClient | undefined;
  private listening: Promise<void> | undefined;
  private closed = false;
  private readonly pollMs: number;
  private readonly notify: boolean;

  constructor(private readonly db: Database, options: PostgresEventLogOptions = {}) {
    this.pollMs = options.pollMs ?? 500;
    // NOTIFY wakes other instances at once; the embedded database has one process, so only local wake-ups.
    this.notify = options.notify ?? !db.embedded;
  }

  async append(stream: string, events: readonly NewEvent[], options: { expectedVersion?: ExpectedVersion } = {}): Promise<AppendResult> {
    if (events.length === 0) throw new Error('append needs at least one event');
    const expected = options.expectedVersion ?? 'any';
    const count = BigInt(events.length);
    try {
      const result = await this.db.transaction(async (tx) => {
        const base = await this.claimRevisions(tx, stream, expected, count);
        const inserted = await tx.query<{ global_position: string; transaction_id: string }>(
          `INSERT INTO events (stream_id, stream_revision, event_id, event_type, data, metadata, created_at)
           SELECT $1, $2::bigint + t.ord, t.id, t.type, t.data, t.meta, coalesce(t.created, now())
             FROM unnest($3::uuid[], $4::text[], $5::jsonb[], $6::jsonb[], $7::timestamptz[]) WITH ORDINALITY
                  AS t(id, type, data, meta, created, ord)
           RETURNING global_position::text, transaction_id::text`,
          [
            stream,
            String(base),
            events.map((event) => event.id ?? randomUUID()),
            events.map((event) => event.type),
            events.map((event) => JSON.stringify(event.data ?? null)),
            events.map((event) => JSON.stringify(event.metadata ?? {})),
            events.map((event) => (event.createdAt ? event.createdAt.toISOString() : null)),
          ],
        );
        if (this.notify) await tx.query(`SELECT pg_notify('${NOTIFY_CHANNEL}', '')`);
        const last = inserted.rows.reduce((max, row) => (BigInt(row.global_position) > BigInt(max.global_position) ? row : max));
        return {
          nextExpectedVersion: base + count,
          position: { commit: BigInt(last.transaction_id), prepare: BigInt(last.global_position) },
        };
      });
      this.waker.wake();
      return result;
    } catch (error) {
      const pgError = error as { code?: string; constraint?: string; detail?: string };
      if (pgError.code === '23505' && pgError.constraint === 'events_event_id_key') {
        throw new DuplicateEventError(/\(event_id\)=\(([^)]+)\)/.exec(pgError.detail ?? '')?.[1] ?? 'unknown');
      }
      throw error;
    }
  }

  /**
   * Moves the stream's version forward under its row lock and returns the revision before the append.
   * Concurrent appends with the same expectation serialize on that row: the second re-checks after the
   * first commits and fails (READ COMMITTED re-evaluates the WHERE on the updated row).
   */
  private async claimRevisions(tx: Queryable, stream: string, expected: ExpectedVersion, count: bigint): Promise<bigint> {
    const conflict = async (): Promise<never> => {
      const actual = await tx.query<{ version: string }>('SELECT version::text FROM event_streams WHERE stream_id = $1', [stream]);
      const version = actual.rows[0]?.version;
      throw new WrongExpectedVersionError(stream, expected, version === undefined ? undefined : BigInt(version));
    };
    if (expected === 'no_stream') {
      const r = await tx.query(
        'INSERT INTO event_streams (stream_id, version) VALUES ($1, $2) ON CONFLICT (stream_id) DO NOTHING',
        [stream, String(count - 1n)],
      );
      if (r.rowCount === 0) return conflict();
      return -1n;
    }
    if (expected === 'any') {
      const r = await tx.query<{ version: string }>(
        `INSERT INTO event_streams (stream_id, version) VALUES ($1, $2::bigint - 1)
         ON CONFLICT (stream_id) DO UPDATE SET version = event_streams.version + $2::bigint, updated_at = now()
         RETURNING version::text`,
        [stream, String(count)],
      );
      return BigInt(r.rows[0]!.version) - count;
    }
    if (expected === 'stream_exists') {
      const r = await tx.query<{ version: string }>(
        'UPDATE event_streams SET version = version + $2::bigint, updated_at = now() WHERE stream_id = $1 RETURNING version::text',
        [stream, String(count)],
      );
      if (r.rowCount === 0) return conflict();
      return BigInt(r.rows[0]!.version) - count;
    }
    const r = await tx.query(
      'UPDATE event_streams SET version = $3::bigint, updated_at = now() WHERE stream_id = $1 AND version = $2::bigint',
      [stream, String(expected), String(expected + count)],
    );
    if (r.rowCount === 0) return conflict();
    return expected;
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const direction = options.backwards ? 'DESC' : 'ASC';
    const bound = options.backwards ? 'e.stream_revision <= $2::bigint' : 'e.stream_revision >= $2::bigint';
    const result = await this.db.query<EventRow>(
      `SELECT ${columns('e.')}
         FROM events e LEFT JOIN event_streams s ON s.stream_id = e.stream_id
        WHERE e.stream_id = $1 AND ($2::bigint IS NULL OR ${bound}) AND ${RETAINED}
        ORDER BY e.stream_revision ${direction}
        LIMIT $3::integer`,
      [stream, options.fromRevision === undefined ? null : String(options.fromRevision), options.maxCount ?? null],
    );
    return result.rows.map(toRecorded);
  }

  async streamVersion(stream: string): Promise<bigint | undefined> {
    const result = await this.db.query<{ version: string }>('SELECT version::text FROM event_streams WHERE stream_id = $1', [stream]);
    const version = result.rows[0]?.version;
    return version === undefined ? undefined : BigInt(version);
  }

  /**
   * Identical reads in flight share one query: after an append wakes them, every caught-up subscription
   * (one per projection, plus MCP feeds) asks for the same page at the same moment.
   */
  private readonly reading = new Map<string, Promise<RecordedEvent[]>>();

  readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const after = options.after ?? START;
    const key = `${after.commit}/${after.prepare}/${options.maxCount ?? 1_000}`;
    let pending = this.reading.get(key);
    if (!pending) {
      pending = this.queryAll(after, options.maxCount ?? 1_000).finally(() => this.reading.delete(key));
      this.reading.set(key, pending);
    }
    return pending;
  }

  private async queryAll(after: GlobalPosition, maxCount: number): Promise<RecordedEvent[]> {
    const result = await this.db.query<EventRow>(
      `SELECT ${COLUMNS} FROM events
        WHERE (transaction_id, global_position) > ($1::text::xid8, $2::bigint)
          -- Only transactions older than every still-running one: a transaction that took a lower
          -- global_position but commits later is never skipped (its id is below the snapshot xmin
          -- only once it has finished).
          AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        -- Qualified on purpose: a bare name would sort by the ::text output column of the same name
        -- (PostgreSQL prefers output names in ORDER BY), i.e. '10' before '9'.
        ORDER BY events.transaction_id, events.global_position
        LIMIT $3`,
      [String(after.commit), String(after.prepare), maxCount],
    );
    return result.rows.map(toRecorded);
  }

  subscribeAll(options: SubscribeOptions) {
    if (this.notify) void this.listen();
    return pollingSubscription(this, this.waker, options, this.pollMs);
  }

  async headPosition(): Promise<GlobalPosition | undefined> {
    const result = await this.db.query<{ transaction_id: string; global_position: string }>(
      `SELECT transaction_id::text, global_position::text FROM events
        WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY events.transaction_id DESC, events.global_position DESC LIMIT 1`,
    );
    const row = result.rows[0];
    return row ? { commit: BigInt(row.transaction_id), prepare: BigInt(row.global_position) } : undefined;
  }

  async setStreamMetadata(stream: string, metadata: StreamMetadata): Promise<void> {
    // A stream may get retention before its first event (version -1 = no events yet).
    await this.db.query(
      `INSERT INTO event_streams (stream_id, version, max_age_seconds, max_count, truncate_before)
       VALUES ($1, -1, $2, $3, $4)
       ON CONFLICT (stream_id) DO UPDATE SET max_age_seconds = $2, max_count = $3, truncate_before = $4, updated_at = now()`,
      [stream, metadata.maxAgeSeconds ?? null, metadata.maxCount ?? null, metadata.truncateBefore === undefined ? null : String(metadata.truncateBefore)],
    );
  }

  async getStreamMetadata(stream: string): Promise<StreamMetadata> {
    const result = await this.db.query<{ max_age_seconds: number | null; max_count: number | null; truncate_before: string | null }>(
      'SELECT max_age_seconds, max_count, truncate_before::text FROM event_streams WHERE stream_id = $1',
      [stream],
    );
    const row = result.rows[0];
    if (!row) return {};
    return {
      ...(row.max_age_seconds !== null ? { maxAgeSeconds: row.max_age_seconds } : {}),
      ...(row.max_count !== null ? { maxCount: row.max_count } : {}),
      ...(row.truncate_before !== null ? { truncateBefore: BigInt(row.truncate_before) } : {}),
    };
  }

  /** Deletes the events that retention hides (scheduled cleanup). Returns how many were removed. */
  async scavenge(): Promise<number> {
    const result = await this.db.query(
      `DELETE FROM events e USING event_streams s
        WHERE s.stream_id = e.stream_id
          AND (s.max_age_seconds IS NOT NULL OR s.max_count IS NOT NULL OR s.truncate_before IS NOT NULL)
          AND NOT ${RETAINED}`,
    );
    return result.rowCount ?? 0;
  }

  private listen(): Promise<void> {
    if (this.listening) return this.listening;
    this.listening = (async () => {
      while (!this.closed) {
        try {
          const client = await this.db.connect();
          this.listener = client;
          client.on('notification', () => this.waker.wake());
          const lost = new Promise<void>((resolve) => client.once('error', () => resolve()));
          await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
          await lost;
          client.release(true);
        } catch {
          // the poll interval covers the gap; try again shortly
        }
        this.listener = undefined;
        if (!this.closed) await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    })();
    return this.listening;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waker.wake();
    if (this.listener) {
      this.listener.emit('error', new Error('closing'));
    }
  }
}
