// Browsing the event log for the audit page. PostgreSQL log: one indexed query on `events`. Other logs
// (EventStoreDB, memory): a bounded forward scan filtered here, so the page works, just over fewer events.
import type { Database } from '../../db/database.ts';
import type { EventLog } from '../../eventstore/port.ts';

/** What the audit log reads: the event log, through SQL when it lives in PostgreSQL beside `db`. */
export type AuditSource = { readonly log: EventLog; readonly db?: Database };
type SqlAuditSource = { readonly log: EventLog; readonly db: Database };
import { userIdForEmail } from '../../domain/users/index.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { COLUMNS, toRecorded, type EventRow } from '../../eventstore/postgres.ts';

export type AuditFilter = {
  stream?: string | undefined;
  type?: string | undefined;
  user?: string | undefined;
  client?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  /** One MCP session: its lifecycle and message streams, and the tool calls made in it (from its user's audit stream). */
  session?: { id: string; streams: string[]; toolStream: string | undefined } | undefined;
  /** Cursor: only events older than this one (PostgreSQL global position or scan index). */
  before?: string | undefined;
};

export type AuditRow = { cursor: string; event: RecordedEvent };
export type AuditPage = { rows: AuditRow[]; next: string | undefined; scanned: 'all' | number };

export const PAGE_SIZE = 50;
const SCAN_LIMIT = 20_000;

/** Values that must never reach a page: secrets, password hashes, token material. */
const SECRET_KEY = /(secret|password|hash|^code$|token$|^key$|privateKey|^d$)/i;
export const redact = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [
        key,
        SECRET_KEY.test(key) && typeof inner !== 'object' ? '[redacted]' : redact(inner),
      ]),
    );
  }
  return value;
};

const userIds = (user: string): string[] => (user.includes('@') ? [userIdForEmail(user), user.toLowerCase()] : [user]);

const matches = (event: RecordedEvent, filter: AuditFilter): boolean => {
  const actor = (event.metadata.actor ?? {}) as { type?: string; id?: string; email?: string };
  const data = (event.data ?? {}) as Record<string, unknown>;
  if (filter.stream && event.stream !== filter.stream) return false;
  if (
    filter.session &&
    !filter.session.streams.includes(event.stream) &&
    !(event.stream === filter.session.toolStream && data.sessionId === filter.session.id)
  )
    return false;
  if (filter.type && event.type !== filter.type) return false;
  if (filter.user && !userIds(filter.user).some((id) => actor.id === id || actor.email === id)) return false;
  if (filter.client && !(actor.type === 'client' && actor.id === filter.client) && data.clientId !== filter.client)
    return false;
  if (filter.from && event.createdAt < filter.from) return false;
  if (filter.to && event.createdAt > filter.to) return false;
  return true;
};

const queryPostgres = async (services: SqlAuditSource, filter: AuditFilter): Promise<AuditPage> => {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (n: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  if (filter.stream) add((n) => `stream_id = ${n}`, filter.stream);
  if (filter.session) {
    const { id, streams, toolStream } = filter.session;
    params.push(streams, toolStream ?? '', id);
    const [s, t, i] = [params.length - 2, params.length - 1, params.length];
    where.push(`(stream_id = ANY($${s}) OR (stream_id = $${t} AND data->>'sessionId' = $${i}))`);
  }
  if (filter.type) add((n) => `event_type = ${n}`, filter.type);
  if (filter.user)
    add(
      (n) => `(metadata->'actor'->>'id' = ANY(${n}) OR metadata->'actor'->>'email' = ANY(${n}))`,
      userIds(filter.user),
    );
  if (filter.client)
    add(
      (n) =>
        `((metadata->'actor'->>'type' = 'client' AND metadata->'actor'->>'id' = ${n}) OR data->>'clientId' = ${n})`,
      filter.client,
    );
  if (filter.from) add((n) => `created_at >= ${n}`, filter.from);
  if (filter.to) add((n) => `created_at <= ${n}`, filter.to);
  if (filter.before && /^\d+$/.test(filter.before)) add((n) => `global_position < ${n}`, filter.before);
  params.push(PAGE_SIZE + 1);
  const rows = (
    await services.db.query<EventRow>(
      `SELECT ${COLUMNS}
         FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY events.global_position DESC LIMIT $${params.length}`,
      params,
    )
  ).rows;
  const page = rows.slice(0, PAGE_SIZE).map((row) => ({ cursor: row.global_position, event: toRecorded(row) }));
  return { rows: page, next: rows.length > PAGE_SIZE ? page[page.length - 1]?.cursor : undefined, scanned: 'all' };
};

const queryScan = async (services: AuditSource, filter: AuditFilter): Promise<AuditPage> => {
  const found: AuditRow[] = [];
  let scanned = 0;
  const streams = filter.stream
    ? [filter.stream]
    : filter.session
      ? [...filter.session.streams, ...(filter.session.toolStream ? [filter.session.toolStream] : [])]
      : undefined;
  if (streams) {
    // Named streams: read them directly (their whole history, however old), oldest first.
    const events = (
      await Promise.all(streams.map((stream) => services.log.readStream(stream, { maxCount: SCAN_LIMIT })))
    )
      .flat()
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    for (const event of events) {
      scanned += 1;
      if (matches(event, filter)) found.push({ cursor: String(scanned), event });
    }
  } else {
    let after: RecordedEvent['position'] | undefined;
    while (scanned < SCAN_LIMIT) {
      const batch = await services.log.readAll({ ...(after ? { after } : {}), maxCount: 1_000 });
      for (const event of batch) {
        scanned += 1;
        if (matches(event, filter)) found.push({ cursor: String(scanned), event });
      }
      if (batch.length < 1_000) break;
      after = batch[batch.length - 1]!.position;
    }
  }
  const newestFirst = found.reverse().filter((row) => !filter.before || Number(row.cursor) < Number(filter.before));
  const rows = newestFirst.slice(0, PAGE_SIZE);
  return { rows, next: newestFirst.length > PAGE_SIZE ? rows[rows.length - 1]?.cursor : undefined, scanned };
};

export const queryAudit = ({ log, db }: AuditSource, filter: AuditFilter): Promise<AuditPage> =>
  log.kind === 'postgres' && db ? queryPostgres({ log, db }, filter) : queryScan({ log }, filter);

/** Distinct event types, for the filter's drop-down. */
export const eventTypes = async ({ log, db }: AuditSource): Promise<string[]> => {
  if (log.kind !== 'postgres' || !db) return [];
  return (await db.query<{ event_type: string }>('SELECT DISTINCT event_type FROM events ORDER BY 1')).rows.map(
    (row) => row.event_type,
  );
};
