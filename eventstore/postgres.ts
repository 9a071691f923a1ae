// PostgreSQL adapter (the default; also embedded PGlite). Tables: migrations/0001_event-log.sql.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { prepared, type Database, type Prepared, type Queryable, type Row } from '../db/database.ts';
import {
  DuplicateEventError,
  checkAppendMany,
  checkStorable,
  START,
  WrongExpectedVersionError,
  type AppendManyOptions,
  type AppendResult,
  type EventLog,
  type ExpectedAppend,
  type ExpectedVersion,
  type GlobalPosition,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type StreamAppend,
  type StreamMetadata,
  type SubscribeOptions,
} from './port.ts';
import { PollingSubscriptions, Waker } from './polling.ts';
import { fastTimestamps } from '../db/timestamps.ts';
import { mayHoldUnstorableJson } from './storable.ts';
import { VersionedCommit } from './versioned-commit.ts';

const NOTIFY_CHANNEL = 'remotemcp_events';
/** The least time between the starts of two NOTIFYs of one log (see Notifier). */
const NOTIFY_GAP_MS = 2;

/** A row of `events` as COLUMNS selects it (also read by the admin audit page). */
export type EventRow = {
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
  [
    'global_position::text',
    'transaction_id::text',
    'stream_id',
    'stream_revision::text',
    'event_id::text',
    'event_type',
    'data',
    'metadata',
    'created_at',
  ]
    .map((column) => `${alias}${column}`)
    .join(', ');
// Aliased columns keep the bare names the row type expects.
export const COLUMNS = columns();

/** Shared by every event read without its metadata (ReadAllOptions); frozen, so none can change it. */
const NO_METADATA: RecordedEvent['metadata'] = Object.freeze({});

export const toRecorded = (row: EventRow): RecordedEvent => recorded(row, BigInt(row.transaction_id));

const recorded = (row: EventRow, commit: bigint): RecordedEvent => ({
  id: row.event_id,
  stream: row.stream_id,
  revision: BigInt(row.stream_revision),
  position: { commit, prepare: BigInt(row.global_position) },
  type: row.event_type,
  data: row.data,
  // Null only when a read left it out (ReadAllOptions.metadataOf): the column is NOT NULL.
  metadata: row.metadata ?? NO_METADATA,
  createdAt: row.created_at,
});

/** Events whose retention ($tb, $maxCount, $maxAge) hides them; shared by reads and the cleanup. */
const RETAINED = `(s.stream_id IS NULL OR (
    (s.truncate_before IS NULL OR e.stream_revision >= s.truncate_before)
    AND (s.max_count IS NULL OR e.stream_revision > s.version - s.max_count)
    AND (s.max_age_seconds IS NULL OR e.created_at >= now() - make_interval(secs => s.max_age_seconds))))`;

/** A unique violation on the event id is the port's DuplicateEventError. */
const duplicateOr = (error: unknown): unknown => {
  const pgError = error as { code?: string; constraint?: string; detail?: string };
  if (pgError.code === '23505' && pgError.constraint === 'events_event_id_key') {
    return new DuplicateEventError(/\(event_id\)=\(([^)]+)\)/.exec(pgError.detail ?? '')?.[1] ?? 'unknown');
  }
  return error;
};

/**
 * The result column that carries a NOTIFY (Notifier.inline), its payload the parameter $n: an
 * uncorrelated scalar subquery, run once with the first row (a statement that returns no row sends
 * none). NOTIFY in a transaction is delivered at its commit, and not at all when it aborts.
 */
const notifyColumn = (n: number) => `, (SELECT pg_notify('${NOTIFY_CHANNEL}', $${n}::text)) AS notified`;

/**
 * How append claims a stream's revisions, by expectation. Each returns `base`: the revision before the
 * append (-1 for a new stream). A row with version -1 is a stream that has retention metadata but no
 * events yet.
 */
const CLAIMS = {
  no_stream: `INSERT INTO event_streams (stream_id, version) VALUES ($1, $3::bigint - 1)
              ON CONFLICT (stream_id) DO UPDATE SET version = $3::bigint - 1, updated_at = now() WHERE event_streams.version = -1
              RETURNING -1::bigint AS base`,
  any: `INSERT INTO event_streams (stream_id, version) VALUES ($1, $3::bigint - 1)
        ON CONFLICT (stream_id) DO UPDATE SET version = event_streams.version + $3::bigint, updated_at = now()
        RETURNING version - $3::bigint AS base`,
  stream_exists: `UPDATE event_streams SET version = version + $3::bigint, updated_at = now()
                  WHERE stream_id = $1 AND version >= 0 RETURNING version - $3::bigint AS base`,
  revision: `UPDATE event_streams SET version = $2::bigint + $3::bigint, updated_at = now()
             WHERE stream_id = $1 AND version = $2::bigint RETURNING $2::bigint AS base`,
} as const;
type ClaimKind = keyof typeof CLAIMS;

/** append: claim, then insert the events (see the method). */
const appendSql = (claim: string, notify: boolean) => `WITH claim AS (${claim}),
  inserted AS (
    INSERT INTO events (stream_id, stream_revision, event_id, event_type, data, metadata, created_at)
    SELECT $1, claim.base + t.ord, t.id, t.type, t.data, t.meta, coalesce(t.created, now())
      FROM claim, unnest($4::uuid[], $5::text[], $6::jsonb[], $7::jsonb[], $8::timestamptz[]) WITH ORDINALITY
           AS t(id, type, data, meta, created, ord)
    RETURNING global_position, transaction_id
  )
  SELECT (SELECT base::text FROM claim) AS base,
         (SELECT max(global_position)::text FROM inserted) AS global_position,
         (SELECT transaction_id::text FROM inserted LIMIT 1) AS transaction_id,
         $2::bigint AS expected${notify ? notifyColumn(9) : ''}`;

/**
 * append of one event (most commands): the same claim and insert with scalar parameters. Measured
 * with callgrind on PostgreSQL 15, it costs the server a third fewer instructions than appendSql with
 * one-element arrays (no array parsing, no unnest, no CTE scans of the inserted row), and pg
 * serializes no arrays. Parameters are numbered as in appendSql. Its answer is one text column, "base
 * global_position transaction_id" (then $2, named only so that PostgreSQL knows its type): a row of four
 * text columns cost the server 4% more instructions per append (callgrind), and node parses one field.
 */
const appendOneSql = (claim: string, notify: boolean) => `WITH claim AS (${claim})
  INSERT INTO events (stream_id, stream_revision, event_id, event_type, data, metadata, created_at)
  SELECT $1, claim.base + 1, $4::uuid, $5::text, $6::jsonb, $7::jsonb, coalesce($8::timestamptz, now()) FROM claim
  RETURNING concat_ws(' ', stream_revision - 1, global_position, transaction_id, $2::bigint) AS packed${notify ? notifyColumn(9) : ''}`;

/**
 * appendMany: every stream's claim in stream-id order, the events in input order. The input
 * is one JSON parameter, `[{ "stream", "events": [{ "id", "type", "data", "metadata" }] }]`: one
 * serialization in Node and one parse in PostgreSQL, where arrays of JSON text would escape every quote.
 */
const appendManySql = (notify: boolean) => `WITH input AS (
    SELECT s.idx, s.value->>'stream' AS stream_id, jsonb_array_length(s.value->'events') AS n, s.value->'events' AS events
      FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS s(value, idx)
  ),
  claim AS (
    INSERT INTO event_streams (stream_id, version)
    SELECT stream_id, n - 1 FROM input ORDER BY stream_id
    ON CONFLICT (stream_id) DO UPDATE SET version = event_streams.version + EXCLUDED.version + 1, updated_at = now()
    RETURNING stream_id, version
  ),
  bases AS (
    SELECT input.idx, input.stream_id, input.events, claim.version - input.n AS base FROM input JOIN claim USING (stream_id)
  ),
  inserted AS (
    INSERT INTO events (stream_id, stream_revision, event_id, event_type, data, metadata, created_at)
    SELECT b.stream_id, b.base + e.within, (e.value->>'id')::uuid, e.value->>'type', e.value->'data', e.value->'metadata', now()
      FROM bases b, jsonb_array_elements(b.events) WITH ORDINALITY AS e(value, within)
     ORDER BY b.idx, e.within
    RETURNING stream_id, global_position, transaction_id
  )
  SELECT b.base::text AS base,
         (SELECT max(i.global_position)::text FROM inserted i WHERE i.stream_id = b.stream_id) AS global_position,
         (SELECT transaction_id::text FROM inserted LIMIT 1) AS transaction_id${notify ? notifyColumn(2) : ''}
    FROM bases b ORDER BY b.idx`;

/**
 * appendEach: as appendMany, but each stream's claim holds only when its expectation does. The claim is
 * one upsert in stream-id order (so concurrent group commits lock rows in one order), guarded in its
 * DO UPDATE by the stream's expectation; a stream that must exist but had no row is left out of it. A
 * stream that claims nothing writes no events and reads back a null base, with the version it had.
 * (Rows of event_streams are never deleted, so one seen here still exists at the upsert.)
 */
const appendEachSql = (notify: boolean) => `WITH input AS (
    SELECT s.idx, s.value->>'stream' AS stream_id, s.value->>'expected' AS expected,
           jsonb_array_length(s.value->'events') AS n, s.value->'events' AS events
      FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS s(value, idx)
  ),
  current AS (
    SELECT input.idx, input.expected, input.stream_id, input.n, s.version
      FROM input LEFT JOIN event_streams s USING (stream_id)
  ),
  claim AS (
    INSERT INTO event_streams AS s (stream_id, version)
    SELECT stream_id, n - 1 FROM current
     WHERE expected IN ('no_stream', 'any') OR version IS NOT NULL
     ORDER BY stream_id
    ON CONFLICT (stream_id) DO UPDATE SET version = s.version + EXCLUDED.version + 1, updated_at = now()
     WHERE (SELECT CASE i.expected WHEN 'any' THEN true
                                   WHEN 'no_stream' THEN s.version = -1
                                   WHEN 'stream_exists' THEN s.version >= 0
                                   ELSE s.version = i.expected::bigint END
              FROM input i WHERE i.stream_id = EXCLUDED.stream_id)
    RETURNING stream_id, version
  ),
  bases AS (
    SELECT input.idx, input.stream_id, input.events, claim.version - input.n AS base FROM input JOIN claim USING (stream_id)
  ),
  inserted AS (
    INSERT INTO events (stream_id, stream_revision, event_id, event_type, data, metadata, created_at)
    SELECT b.stream_id, b.base + e.within, (e.value->>'id')::uuid, e.value->>'type', e.value->'data', e.value->'metadata', now()
      FROM bases b, jsonb_array_elements(b.events) WITH ORDINALITY AS e(value, within)
     ORDER BY b.idx, e.within
    RETURNING stream_id, global_position, transaction_id
  )
  SELECT b.base::text AS base,
         (SELECT max(i.global_position)::text FROM inserted i WHERE i.stream_id = c.stream_id) AS global_position,
         (SELECT transaction_id::text FROM inserted LIMIT 1) AS transaction_id,
         c.version::text AS actual${notify ? notifyColumn(2) : ''}
    FROM current c LEFT JOIN bases b USING (idx) ORDER BY c.idx`;

/**
 * An append statement as is, and carrying a NOTIFY (its payload one more parameter, after the others).
 * The hot statements are prepared: planning an append costs PostgreSQL more CPU than running it.
 */
type Appending = { readonly plain: Prepared; readonly carrying: Prepared };
const appending = (sql: (notify: boolean) => string): Appending => ({
  plain: prepared(sql(false)),
  carrying: prepared(sql(true)),
});
const byClaim = (sql: (claim: string, notify: boolean) => string) =>
  Object.fromEntries(
    Object.entries(CLAIMS).map(([kind, claim]) => [kind, appending((notify) => sql(claim, notify))]),
  ) as Record<ClaimKind, Appending>;
const APPEND = byClaim(appendSql);
const APPEND_ONE = byClaim(appendOneSql);
const APPEND_MANY = appending(appendManySql);
const APPEND_EACH = appending(appendEachSql);

/**
 * Wakes other instances after commits, outside the appending transactions. A NOTIFY inside every append
 * would take PostgreSQL's global notify lock at commit and hold it through the commit's WAL flush, so
 * concurrent appends could not share a flush (8 writers were no faster than 1). Here one NOTIFY is in
 * flight at a time; appends committed meanwhile are covered by one more, sent when it returns, so
 * every commit is followed by a NOTIFY that started after it. Under a steady stream of appends the
 * NOTIFYs start at least `gapMs` apart: the first one after a quiet spell leaves at the end of the
 * event loop's turn, later ones wake other instances at most that much later and cost one round trip
 * per gap instead of per append (a NOTIFY per append cost as much PostgreSQL CPU as a third of the
 * append itself).
 *
 * An append may instead carry the NOTIFY in its own statement (`inline`), when none is in flight and
 * the gap has passed: it is delivered at that append's commit, which follows every commit poked so far,
 * and saves a round trip on another connection (back-to-back group commits of 8 streams, in turns:
 * node CPU per commit -22%, PostgreSQL -4.5%). A poke therefore waits for the end of the turn: an
 * append started meanwhile (a group commit's next one) takes it along.
 */
export class Notifier {
  /** A commit awaits a NOTIFY. */
  private pending = false;
  /** A NOTIFY statement of its own is in flight. */
  private sending = false;
  /**
   * An append carrying a NOTIFY is in flight. It does not hold back the NOTIFYs of other commits past
   * the gap: it may wait on a stream's row lock.
   */
  private carrying = false;
  private closed = false;
  private lastStart = -Infinity;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  /**
   * A NOTIFY statement as simple-protocol text: one message each way and no result row, where a prepared
   * `SELECT pg_notify($1, $2)` took four messages and a row (measured: 40% less node and 20% less server
   * CPU per NOTIFY). The payload is inlined, so it is held to characters that need no quoting.
   */
  private readonly statement: string;
  /** NOTIFYs sent, on their own or carried by a committed append (for tests). */
  sent = 0;

  constructor(
    private readonly db: Queryable,
    payload: string,
    private readonly gapMs = NOTIFY_GAP_MS,
  ) {
    if (!/^[\w-]+$/.test(payload)) throw new Error('a NOTIFY payload is letters, digits, _ and - only');
    this.statement = `NOTIFY ${NOTIFY_CHANNEL}, '${payload}'`;
  }

  poke(): void {
    if (this.closed) return;
    this.pending = true;
    this.schedule();
  }

  /**
   * Claims the next NOTIFY for an append about to be sent, when none is in flight and the gap has
   * passed; undefined otherwise (then the append pokes after its commit). Call `done` with whether the
   * NOTIFY went out (the append committed and evaluated it): when not, the commits it covered are poked.
   */
  inline(): { done(notified: boolean): void } | undefined {
    const now = performance.now();
    if (this.closed || this.sending || this.carrying || now < this.lastStart + this.gapMs) return undefined;
    const covered = this.pending;
    this.carrying = true;
    this.pending = false;
    this.lastStart = now;
    let finished = false;
    return {
      done: (notified) => {
        if (finished) return;
        finished = true;
        this.carrying = false;
        if (notified) this.sent += 1;
        else if (covered) this.pending = true;
        if (this.pending) this.schedule();
      },
    };
  }

  private schedule(): void {
    if (this.sending || this.timer || this.closed) return;
    const wait = this.lastStart + this.gapMs - performance.now();
    // (Timers count whole milliseconds from a cached loop time: round up, or the gap shrinks.)
    this.timer = wait > 0 ? setTimeout(this.send, Math.ceil(wait)) : setImmediate(this.send);
  }

  private readonly send = (): void => {
    this.timer = undefined;
    // Taken meanwhile by an append (pending cleared), or one is in flight (its end schedules again).
    if (this.closed || this.sending || !this.pending) return;
    // A timer counts from the loop's cached clock, which a long turn leaves behind: it can fire early.
    if (performance.now() < this.lastStart + this.gapMs) return this.schedule();
    this.pending = false;
    this.sending = true;
    this.lastStart = performance.now();
    this.sent += 1;
    // A lost NOTIFY only delays other instances until their next poll.
    void this.db
      .query(this.statement)
      .catch(() => undefined)
      .then(() => {
        this.sending = false;
        if (this.pending) this.schedule();
      });
  };

  close(): void {
    this.closed = true;
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
    }
    this.timer = undefined;
  }
}

/**
 * The oldest transaction that may still add events to this log. Readers only see transactions older
 * than it: a transaction that took a lower global_position but commits later is never skipped (its id
 * is below the horizon only once it has finished). On a server, transactions running in other databases
 * cannot write this table and are left out (one long transaction elsewhere on a shared server would
 * otherwise hold every reader back); one that finished since our snapshot counts, as we cannot see its
 * rows. Embedded PGlite has one database: the snapshot's xmin.
 */
const horizon = (embedded: boolean) =>
  embedded
    ? 'pg_snapshot_xmin(pg_current_snapshot())'
    : `(SELECT coalesce(min(x), pg_snapshot_xmax(pg_current_snapshot()))
          FROM pg_snapshot_xip(pg_current_snapshot()) AS x
         WHERE x::xid NOT IN (SELECT backend_xid FROM pg_stat_activity
                               WHERE backend_xid IS NOT NULL
                                 AND datid IS DISTINCT FROM (SELECT oid FROM pg_database WHERE datname = current_database())))`;

// ReadAllOptions.dataOf: of other types only the position and type leave the table (no jsonb output,
// no id, stream or timestamp to parse here); a rebuild's log is mostly MCP messages no projection reads.
// metadataOf ($5): likewise the metadata, which few projections read.
const wanted = (column: string) => `CASE WHEN event_type = ANY($4::text[]) THEN ${column} END AS ${column}`;
const someData = (metadata: string) =>
  [
    'global_position::text',
    'transaction_id::text',
    `CASE WHEN event_type = ANY($4::text[]) THEN stream_id END AS stream_id`,
    `CASE WHEN event_type = ANY($4::text[]) THEN stream_revision::text END AS stream_revision`,
    `CASE WHEN event_type = ANY($4::text[]) THEN event_id::text END AS event_id`,
    'event_type',
    wanted('data'),
    metadata,
    wanted('created_at'),
  ].join(', ');
const SOME_DATA = someData(wanted('metadata'));
const SOME_METADATA = someData(`CASE WHEN event_type = ANY($5::text[]) THEN metadata END AS metadata`);

/** The createdAt of every skipped event (see ReadAllOptions: nothing reads it). */
const EPOCH = new Date(0);

/** An event of a type the reader does not look at: its place in the log and its type (see ReadAllOptions). */
const toSkipped = (row: EventRow, commit: bigint): RecordedEvent => ({
  id: '',
  stream: '',
  revision: -1n,
  position: { commit, prepare: BigInt(row.global_position) },
  type: row.event_type,
  data: null,
  metadata: NO_METADATA,
  createdAt: EPOCH,
});

// created_at by db/timestamps.ts: pg's parser made a dozen strings per event of a rebuild's read.
const readAllSql = (embedded: boolean, columns = COLUMNS) =>
  prepared(
    `SELECT ${columns} FROM events
  WHERE (transaction_id, global_position) > ($1::text::xid8, $2::bigint)
    AND transaction_id < ${horizon(embedded)}
  -- Qualified on purpose: a bare name would sort by the ::text output column of the same name
  -- (PostgreSQL prefers output names in ORDER BY), i.e. '10' before '9'.
  ORDER BY events.transaction_id, events.global_position
  LIMIT $3`,
    fastTimestamps,
  );

const TOP = `coalesce($2::bigint, (SELECT version FROM event_streams WHERE stream_id = $1))`;
const READ_BACKWARDS = prepared(`SELECT ${columns('e.')}
    FROM events e LEFT JOIN event_streams s ON s.stream_id = e.stream_id
   WHERE e.stream_id = $1 AND e.stream_revision <= ${TOP} AND e.stream_revision > ${TOP} - $3::bigint AND ${RETAINED}
   ORDER BY e.stream_revision DESC
   LIMIT $3::integer`);

const headSql = (embedded: boolean) =>
  prepared(`SELECT transaction_id::text, global_position::text FROM events
    WHERE transaction_id < ${horizon(embedded)}
    ORDER BY events.transaction_id DESC, events.global_position DESC LIMIT 1`);

export type PostgresEventLogOptions = { pollMs?: number; notify?: boolean };

export class PostgresEventLog implements EventLog {
  readonly kind = 'postgres' as const;
  private readonly waker = new Waker();
  private readonly subscriptions: PollingSubscriptions;
  private listener: pg.PoolClient | undefined;
  private listening: Promise<void> | undefined;
  private closed = false;
  private readonly pollMs: number;
  private readonly notify: boolean;
  private readonly notifier: Notifier | undefined;
  private readonly readAllStatement: Prepared;
  private readonly readSomeStatement: Prepared;
  private readonly readSomeMetadataStatement: Prepared;
  private readonly headStatement: Prepared;
  /** Names this log's NOTIFYs: its own wake it at once (see append), so only other writers' count. */
  private readonly origin = randomUUID();

  constructor(
    private readonly db: Database,
    options: PostgresEventLogOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 500;
    this.subscriptions = new PollingSubscriptions(this, this.waker, this.pollMs);
    // NOTIFY wakes other instances at once; the embedded database has one process, so only local wake-ups.
    this.notify = options.notify ?? !db.embedded;
    this.notifier = this.notify ? new Notifier(db, this.origin) : undefined;
    this.readAllStatement = readAllSql(db.embedded);
    this.readSomeStatement = readAllSql(db.embedded, SOME_DATA);
    this.readSomeMetadataStatement = readAllSql(db.embedded, SOME_METADATA);
    this.headStatement = headSql(db.embedded);
  }

  /** Appends on their way to the database (alone, or together in one appendEach). */
  private appending = 0;
  /**
   * Appends made while another is on its way go out together, one appendEach per round trip: 8 commands
   * at once cost PostgreSQL a statement and a commit instead of 8. Each keeps its own expectation and its
   * own outcome (a stale one fails alone; a batch that fails as a whole is tried append by append).
   */
  private readonly together = new VersionedCommit({
    append: (stream, events, options) => this.appendAlone(stream, events, options),
    appendEach: (appends) => this.inFlight(this.appendEach(appends)),
  });

  private async inFlight<T>(work: Promise<T>): Promise<T> {
    this.appending += 1;
    try {
      return await work;
    } finally {
      this.appending -= 1;
    }
  }

  /**
   * An append goes out at once when none is on its way (a lone writer waits for nothing but its own
   * commit), else with the others made meanwhile (see `together`). A given creation time is carried by
   * the lone statement only.
   */
  append(
    stream: string,
    events: readonly NewEvent[],
    options: { expectedVersion?: ExpectedVersion } = {},
  ): Promise<AppendResult> {
    if (this.appending === 0 || events.length === 0 || events.some((event) => event.createdAt !== undefined))
      return this.appendAlone(stream, events, options);
    return this.together.append(stream, events, options.expectedVersion ?? 'any');
  }

  /**
   * One statement, one round trip: claim the revisions on the stream's row (its row lock serializes
   * concurrent appends; READ COMMITTED re-checks the WHERE after a concurrent commit, so the second of
   * two appends with the same expectation claims nothing), insert the events. Any failure (a duplicate
   * event id, a full disk) aborts the whole statement: nothing is half-written. Then other instances are
   * told (Notifier).
   */
  private async appendAlone(
    stream: string,
    events: readonly NewEvent[],
    options: { expectedVersion?: ExpectedVersion } = {},
  ): Promise<AppendResult> {
    if (events.length === 0) throw new Error('append needs at least one event');
    const expected = options.expectedVersion ?? 'any';
    const count = BigInt(events.length);
    const claim: ClaimKind = typeof expected === 'bigint' ? 'revision' : expected;
    let row: { base: string | null; global_position: string | null; transaction_id: string | null } | undefined;
    // A command's append is small: walk it. (appendMany, the hot path, scans its JSON text instead.)
    checkStorable([{ stream, events }]);
    const one = events.length === 1 ? events[0] : undefined;
    // Scalars for one event (APPEND_ONE), arrays otherwise (APPEND): the same parameters either way.
    const column = <T>(value: (event: NewEvent) => T) => (one ? value(one) : events.map(value));
    const params = [
      stream,
      typeof expected === 'bigint' ? String(expected) : null,
      String(count),
      column((event) => event.id ?? randomUUID()),
      column((event) => event.type),
      column((event) => JSON.stringify(event.data ?? null)),
      column((event) => JSON.stringify(event.metadata ?? {})),
      column((event) => (event.createdAt ? event.createdAt.toISOString() : null)),
    ];
    // (A one-event append whose claim matched nothing returns no row, so it sent no NOTIFY.)
    const { rows, carried } = await this.inFlight(
      this.appendQuery<{
        base: string | null;
        global_position: string | null;
        transaction_id: string | null;
        packed?: string;
      }>((one ? APPEND_ONE : APPEND)[claim], params, (answer) => answer.length > 0),
    );
    const first = rows[0];
    row = first;
    if (first?.packed !== undefined) {
      const [base, globalPosition, transactionId] = first.packed.split(' ');
      row = { base: base ?? null, global_position: globalPosition ?? null, transaction_id: transactionId ?? null };
    }
    if (!row?.base || !row.global_position || !row.transaction_id) {
      // The claim matched no row: the stream is not where the caller expected it.
      throw new WrongExpectedVersionError(stream, expected, await this.streamVersion(stream));
    }
    this.waker.wake();
    if (!carried) this.notifier?.poke();
    return {
      nextExpectedVersion: BigInt(row.base) + count,
      position: { commit: BigInt(row.transaction_id), prepare: BigInt(row.global_position) },
    };
  }

  /**
   * appendMany in one statement: claims every stream's revisions (upserting the rows in stream-id order,
   * so two instances' group commits lock them in the same order and cannot deadlock), inserts the events
   * in input order. All streams or none. Then other instances are told (Notifier).
   */
  async appendMany(appends: readonly StreamAppend[], options: AppendManyOptions = {}): Promise<AppendResult[]> {
    checkAppendMany(appends);
    const input = appends.map(({ stream, events }) => ({
      stream,
      events: events.map((event) => ({
        id: event.id ?? randomUUID(),
        type: event.type,
        data: event.data ?? null,
        metadata: event.metadata ?? {},
      })),
    }));
    type Answer = { base: string; global_position: string; transaction_id: string };
    const json = JSON.stringify(input);
    // One scan of the text already made for the query; the values are walked only on a suspicious escape.
    if (mayHoldUnstorableJson(json)) checkStorable(appends);
    const { rows, carried } = await this.appendQuery<Answer>(APPEND_MANY, [json]);
    // (Asked after the write: a subscriber that wanted these events meanwhile is woken.)
    if (!options.quiet?.()) this.waker.wake();
    if (!carried) this.notifier?.poke();
    return appends.map(({ events }, index) => {
      const row = rows[index]!;
      return {
        nextExpectedVersion: BigInt(row.base) + BigInt(events.length),
        position: { commit: BigInt(row.transaction_id), prepare: BigInt(row.global_position) },
      };
    });
  }

  /**
   * appendEach in one statement (APPEND_EACH_SQL): the streams whose expectation holds are written in
   * one transaction, the others get WrongExpectedVersionError. A duplicate event id or unstorable text
   * rejects the call and writes nothing.
   */
  async appendEach(appends: readonly ExpectedAppend[]): Promise<(AppendResult | Error)[]> {
    checkAppendMany(appends);
    const input = appends.map(({ stream, events, expectedVersion }) => ({
      stream,
      expected: typeof expectedVersion === 'bigint' ? String(expectedVersion) : expectedVersion,
      events: events.map((event) => ({
        id: event.id ?? randomUUID(),
        type: event.type,
        data: event.data ?? null,
        metadata: event.metadata ?? {},
      })),
    }));
    type Answer = {
      base: string | null;
      global_position: string | null;
      transaction_id: string | null;
      actual: string | null;
    };
    const json = JSON.stringify(input);
    if (mayHoldUnstorableJson(json)) checkStorable(appends);
    // (A carried NOTIFY goes out even when no stream's expectation held: a spare wake-up, no harm.)
    const { rows, carried } = await this.appendQuery<Answer>(APPEND_EACH, [json]);
    if (rows.some((row) => row.base !== null)) {
      this.waker.wake();
      if (!carried) this.notifier?.poke();
    }
    return appends.map(({ stream, events, expectedVersion }, index) => {
      const row = rows[index]!;
      if (row.base === null || row.global_position === null || row.transaction_id === null) {
        const actual = row.actual === null || row.actual === '-1' ? undefined : BigInt(row.actual);
        return new WrongExpectedVersionError(stream, expectedVersion, actual);
      }
      return {
        nextExpectedVersion: BigInt(row.base) + BigInt(events.length),
        position: { commit: BigInt(row.transaction_id), prepare: BigInt(row.global_position) },
      };
    });
  }

  /**
   * Runs an append statement, carrying the NOTIFY when the Notifier lets it (Notifier.inline); `carried`
   * is whether it went out with the commit, else the caller pokes after a write. `evaluated` tells from
   * the answer whether the statement reached its NOTIFY column (one that returns no row did not).
   */
  private async appendQuery<R extends Row>(
    statement: Appending,
    params: unknown[],
    evaluated: (rows: R[]) => boolean = () => true,
  ): Promise<{ rows: R[]; carried: boolean }> {
    const inline = this.notifier?.inline();
    try {
      const { rows } = inline
        ? await this.db.query<R>(statement.carrying, [...params, this.origin])
        : await this.db.query<R>(statement.plain, params);
      const carried = inline !== undefined && evaluated(rows);
      inline?.done(carried);
      return { rows, carried };
    } catch (error) {
      inline?.done(false);
      throw duplicateOr(error);
    }
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const from = options.fromRevision === undefined ? null : String(options.fromRevision);
    const limit = options.maxCount ?? null;
    if (options.backwards && limit !== null) {
      const page = await this.readBackwardsBounded(stream, from, limit);
      // A short page that did not reach revision 0 means events are missing inside the range (retention
      // removed them): only then is the range not the answer, and the unbounded read decides.
      const lowest = page[page.length - 1];
      if (page.length === limit || !lowest || lowest.revision === 0n) return page;
    }
    const direction = options.backwards ? 'DESC' : 'ASC';
    const bound = options.backwards ? 'e.stream_revision <= $2::bigint' : 'e.stream_revision >= $2::bigint';
    const result = await this.db.query<EventRow>(
      `SELECT ${columns('e.')}
         FROM events e LEFT JOIN event_streams s ON s.stream_id = e.stream_id
        WHERE e.stream_id = $1 AND ($2::bigint IS NULL OR ${bound}) AND ${RETAINED}
        ORDER BY e.stream_revision ${direction}
        LIMIT $3::integer`,
      [stream, from, limit],
    );
    return result.rows.map(toRecorded);
  }

  /**
   * The newest `limit` events up to `from` (the stream's end when null), read as a revision range: a
   * stream's revisions are contiguous, so the range holds exactly the page and the scan touches only
   * its rows whatever plan PostgreSQL picks. Without the range, a planner with no statistics (PGlite
   * runs no autovacuum, so never ANALYZE) reads every event of the stream and sorts them: the cost of
   * loading an aggregate from its snapshot grew with the stream's age.
   */
  private async readBackwardsBounded(stream: string, from: string | null, limit: number): Promise<RecordedEvent[]> {
    const result = await this.db.query<EventRow>(READ_BACKWARDS, [stream, from, limit]);
    return result.rows.map(toRecorded);
  }

  async streamVersion(stream: string): Promise<bigint | undefined> {
    const result = await this.db.query<{ version: string }>(
      'SELECT version::text FROM event_streams WHERE stream_id = $1',
      [stream],
    );
    const version = result.rows[0]?.version;
    // -1: retention metadata was set before the stream's first event.
    return version === undefined || version === '-1' ? undefined : BigInt(version);
  }

  /**
   * Identical reads in flight share one query: after an append wakes them, every caught-up subscription
   * (one per projection, plus MCP feeds) asks for the same page at the same moment.
   */
  private readonly reading = new Map<string, Promise<RecordedEvent[]>>();

  readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const after = options.after ?? START;
    const { dataOf } = options;
    const metadataOf = dataOf ? options.metadataOf : undefined;
    const key = `${after.commit}/${after.prepare}/${options.maxCount ?? 1_000}/${dataOf?.join(',') ?? '*'}/${metadataOf?.join(',') ?? '*'}`;
    let pending = this.reading.get(key);
    if (!pending) {
      pending = this.queryAll(after, options.maxCount ?? 1_000, dataOf, metadataOf).finally(() =>
        this.reading.delete(key),
      );
      this.reading.set(key, pending);
    }
    return pending;
  }

  private async queryAll(
    after: GlobalPosition,
    maxCount: number,
    dataOf: readonly string[] | undefined,
    metadataOf: readonly string[] | undefined,
  ): Promise<RecordedEvent[]> {
    const params: unknown[] = [String(after.commit), String(after.prepare), maxCount];
    if (dataOf) params.push(dataOf);
    if (metadataOf) params.push(metadataOf);
    const statement = metadataOf
      ? this.readSomeMetadataStatement
      : dataOf
        ? this.readSomeStatement
        : this.readAllStatement;
    const { rows } = await this.db.query<EventRow>(statement, params);
    const events = new Array<RecordedEvent>(rows.length);
    // A transaction's events come together: they share one commit value (a bigint less per event).
    let commitText = '';
    let commit = 0n;
    for (let i = 0; i < rows.length; i += 1) {
      const row = rows[i]!;
      if (row.transaction_id !== commitText) commit = BigInt((commitText = row.transaction_id));
      events[i] = row.event_id === null && dataOf ? toSkipped(row, commit) : recorded(row, commit);
    }
    return events;
  }

  subscribeAll(options: SubscribeOptions) {
    if (this.notify) void this.listen();
    return this.subscriptions.subscribe(options);
  }

  async headPosition(): Promise<GlobalPosition | undefined> {
    const result = await this.db.query<{ transaction_id: string; global_position: string }>(this.headStatement);
    const row = result.rows[0];
    return row ? { commit: BigInt(row.transaction_id), prepare: BigInt(row.global_position) } : undefined;
  }

  async setStreamMetadata(stream: string, metadata: StreamMetadata): Promise<void> {
    // A stream may get retention before its first event (version -1 = no events yet).
    await this.db.query(
      `INSERT INTO event_streams (stream_id, version, max_age_seconds, max_count, truncate_before)
       VALUES ($1, -1, $2, $3, $4)
       ON CONFLICT (stream_id) DO UPDATE SET max_age_seconds = $2, max_count = $3, truncate_before = $4, updated_at = now()`,
      [
        stream,
        metadata.maxAgeSeconds ?? null,
        metadata.maxCount ?? null,
        metadata.truncateBefore === undefined ? null : String(metadata.truncateBefore),
      ],
    );
  }

  async getStreamMetadata(stream: string): Promise<StreamMetadata> {
    const result = await this.db.query<{
      max_age_seconds: number | null;
      max_count: number | null;
      truncate_before: string | null;
    }>('SELECT max_age_seconds, max_count, truncate_before::text FROM event_streams WHERE stream_id = $1', [stream]);
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
          client.on('notification', (message) => {
            // An append of ours has already woken our subscriptions; another wake-up would only read again.
            if (message.payload !== this.origin) this.waker.wake();
          });
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
    this.notifier?.close();
    this.waker.wake();
    if (this.listener) {
      this.listener.emit('error', new Error('closing'));
    }
  }
}
