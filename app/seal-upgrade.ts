// Upgrade: logs written before personal fields were sealed hold them in clear. On a PostgreSQL or PGlite
// log this seals them in place, once, in one transaction: every event of a type with personal fields
// (domain/personal.ts), and every actor email in metadata, is rewritten with those fields sealed; ids,
// positions, types and times stay. A KurrentDB log cannot rewrite an event: there the upgrade is an
// `events export` with the old version and an `events import` with this one into a new, empty store
// (the import seals on append), after which the old store is deleted (README "Personal data and erasure").
import type { Database } from '../db/database.ts';
import type { PersonalData } from '../eventstore/encrypting.ts';
import type { Logger } from './logger.ts';

const LOCK = 'remotemcp:seal-personal-data';
const BATCH = 500;

type Row = {
  event_id: string;
  stream_id: string;
  event_type: string;
  data: unknown;
  metadata: Record<string, unknown>;
};

/** Seals what is still in clear; returns how many events were rewritten (0 once done). */
export const sealExistingEvents = async (db: Database, personal: PersonalData, logger?: Logger): Promise<number> => {
  const done = await db.query('SELECT 1 FROM personal_data_sealed');
  if (done.rows.length > 0) return 0;
  const types = Object.keys(personal.schema.rules);
  // Read and seal first (new keys are committed as they are made), then rewrite in one transaction.
  const rows = (
    await db.query<Row>(
      `SELECT event_id, stream_id, event_type, data, metadata FROM events
        WHERE event_type = ANY($1) OR metadata->'actor'->>'email' IS NOT NULL
        ORDER BY global_position`,
      [types],
    )
  ).rows;
  // Messages kept for replay did not name their user: their session's opening event does.
  const owners = new Map<string, string>();
  for (const row of rows) {
    const data = row.data as { sessionId?: unknown; userId?: unknown };
    if (row.event_type === 'McpSessionOpened' && typeof data.sessionId === 'string' && typeof data.userId === 'string')
      owners.set(data.sessionId, data.userId);
  }
  const changed: { id: string; data: string; metadata: string }[] = [];
  for (const row of rows) {
    let data = row.data as Record<string, unknown>;
    if (row.event_type === 'McpEventEmitted' && data.userId === undefined) {
      const owner = owners.get(String(data.sessionId));
      if (owner) data = { ...data, userId: owner };
    }
    const sealed = await personal.seal(row.stream_id, {
      id: row.event_id,
      type: row.event_type,
      data,
      metadata: row.metadata,
    });
    if (sealed.data === row.data && sealed.metadata === row.metadata) continue;
    changed.push({ id: row.event_id, data: JSON.stringify(sealed.data), metadata: JSON.stringify(sealed.metadata) });
  }
  const sealed = await db.transaction(async (tx) => {
    // Instances starting together: one rewrites, the others wait here and then find it done.
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [LOCK]);
    if ((await tx.query('SELECT 1 FROM personal_data_sealed')).rows.length > 0) return 0;
    for (let i = 0; i < changed.length; i += BATCH) {
      const part = changed.slice(i, i + BATCH);
      await tx.query(
        `UPDATE events e SET data = v.data::jsonb, metadata = v.metadata::jsonb
           FROM unnest($1::uuid[], $2::text[], $3::text[]) AS v(id, data, metadata) WHERE e.event_id = v.id`,
        [part.map((c) => c.id), part.map((c) => c.data), part.map((c) => c.metadata)],
      );
    }
    await tx.query('INSERT INTO personal_data_sealed (events) VALUES ($1)', [changed.length]);
    return changed.length;
  });
  if (sealed > 0) logger?.info({ events: sealed }, 'personal fields of older events sealed in place');
  return sealed;
};
