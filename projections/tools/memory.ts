// Read models of memory: `memory_entities`, `memory_relations` (the knowledge graph) and `memory_notes`,
// each with a weighted tsvector for PostgreSQL full-text search (ts_rank_cd over websearch_to_tsquery).
import { createHash } from 'node:crypto';
import { GraphEvent, NoteEvent } from '../../domain/memory/index.ts';
import { assertNever } from '../../domain/shared.ts';
import { ERASURE } from '../../domain/personal.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { sqlPerTables, type Projection, type Statement, type Tables } from '../sql.ts';

/** Key of a note's text in the embeddings cache (the embedding is a function of the text and the model). */
export const contentHash = (title: string, content: string): string =>
  createHash('sha256').update(`${title}\n${content}`).digest('hex');

const ENTITY_VECTOR = `setweight(to_tsvector('english', name), 'A') || setweight(to_tsvector('english', entity_type), 'B')
  || setweight(to_tsvector('english', array_to_string(observations, ' ')), 'C')`;

const erasedUserId = (recorded: RecordedEvent): string => (recorded.data as { userId: string }).userId;

export const memoryGraphProjection: Projection = {
  name: 'memory_graph',
  // 2: the GIN index with fastupdate = off, as memory_notes' (see there): PGlite never merges a pending list.
  version: 2,
  tables: {
    memory_entities: `CREATE TABLE {memory_entities} (
      user_id      text NOT NULL,
      name         text NOT NULL,
      entity_type  text NOT NULL,
      observations text[] NOT NULL,
      search       tsvector NOT NULL,
      updated_at   timestamptz NOT NULL,
      PRIMARY KEY (user_id, name)
    );
    CREATE INDEX {memory_entities}_search ON {memory_entities} USING gin (search) WITH (fastupdate = off)`,
    memory_relations: `CREATE TABLE {memory_relations} (
      user_id       text NOT NULL,
      from_name     text NOT NULL,
      to_name       text NOT NULL,
      relation_type text NOT NULL,
      PRIMARY KEY (user_id, from_name, to_name, relation_type)
    )`,
  },
  // Snapshots repeat what the other events said: nothing to project.
  eventTypes: [
    ...GraphEvent.options.map((option) => option.shape.type.value).filter((type) => type !== 'MemoryGraphSnapshotted'),
    ERASURE.type,
  ],
  // Each statement is a set operation (insert-if-absent, union, delete), so applying an event twice changes nothing.
  toStatements(recorded: RecordedEvent, t: Tables): Statement[] {
    // An erased user's graph goes (replayed after the erasure, their events hold no names to insert).
    if (recorded.type === ERASURE.type)
      return [
        { sql: `DELETE FROM ${t.memory_entities} WHERE user_id = $1`, params: [erasedUserId(recorded)] },
        { sql: `DELETE FROM ${t.memory_relations} WHERE user_id = $1`, params: [erasedUserId(recorded)] },
      ];
    const event = GraphEvent.parse(recorded);
    if (event.type === 'MemoryGraphSnapshotted') return [];
    const { userId, at } = event.data;
    // Set-based rebuild (projections/batch.ts): each statement below touches one entity or one relation,
    // named by its key, except the relations of deleted entities (any relation naming them).
    const entity = (name: string) => JSON.stringify(['entity', userId, name]);
    const relation = (r: { from: string; to: string; relationType: string }) =>
      JSON.stringify(['relation', userId, r.from, r.to, r.relationType]);
    const refresh = (name: string): Statement => ({
      sql: `UPDATE ${t.memory_entities} SET search = ${ENTITY_VECTOR}, updated_at = $3 WHERE user_id = $1 AND name = $2`,
      params: [userId, name, at],
      batch: { key: entity(name), types: ['text', 'text', 'timestamptz'] },
    });
    const relationTypes = ['text', 'text', 'text', 'text'];
    switch (event.type) {
      case 'MemoryEntitiesCreated':
        return event.data.entities.map((e) => ({
          sql: `INSERT INTO ${t.memory_entities} (user_id, name, entity_type, observations, search, updated_at)
                VALUES ($1, $2, $3, $4::text[], setweight(to_tsvector('english', $2), 'A') || setweight(to_tsvector('english', $3), 'B')
                  || setweight(to_tsvector('english', array_to_string($4::text[], ' ')), 'C'), $5)
                ON CONFLICT (user_id, name) DO NOTHING`,
          params: [userId, e.name, e.entityType, e.observations, at],
          batch: { key: entity(e.name), types: ['text', 'text', 'text', 'text[]', 'timestamptz'] },
        }));
      case 'MemoryObservationsAdded':
        return [
          ...event.data.additions.map((a) => ({
            sql: `UPDATE ${t.memory_entities} SET observations = observations || ARRAY(SELECT unnest($3::text[]) EXCEPT SELECT unnest(observations))
                  WHERE user_id = $1 AND name = $2`,
            params: [userId, a.entityName, a.contents],
            batch: { key: entity(a.entityName), types: ['text', 'text', 'text[]'] },
          })),
          ...event.data.additions.map((a) => refresh(a.entityName)),
        ];
      case 'MemoryEntitiesDeleted':
        return [
          ...event.data.names.map((name) => ({
            sql: `DELETE FROM ${t.memory_entities} WHERE user_id = $1 AND name = $2`,
            params: [userId, name],
            batch: { key: entity(name), types: ['text', 'text'] },
          })),
          {
            sql: `DELETE FROM ${t.memory_relations} WHERE user_id = $1 AND (from_name = ANY($2) OR to_name = ANY($2))`,
            params: [userId, event.data.names],
          },
        ];
      case 'MemoryObservationsDeleted':
        return [
          ...event.data.deletions.map((d) => ({
            sql: `UPDATE ${t.memory_entities} SET observations = ARRAY(SELECT o FROM unnest(observations) WITH ORDINALITY AS x(o, i) WHERE o <> ALL($3::text[]) ORDER BY i)
                  WHERE user_id = $1 AND name = $2`,
            params: [userId, d.entityName, d.observations],
            batch: { key: entity(d.entityName), types: ['text', 'text', 'text[]'] },
          })),
          ...event.data.deletions.map((d) => refresh(d.entityName)),
        ];
      case 'MemoryRelationsCreated':
        return event.data.relations.map((r) => ({
          sql: `INSERT INTO ${t.memory_relations} (user_id, from_name, to_name, relation_type) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
          params: [userId, r.from, r.to, r.relationType],
          batch: { key: relation(r), types: relationTypes },
        }));
      case 'MemoryRelationsDeleted':
        return event.data.relations.map((r) => ({
          sql: `DELETE FROM ${t.memory_relations} WHERE user_id = $1 AND from_name = $2 AND to_name = $3 AND relation_type = $4`,
          params: [userId, r.from, r.to, r.relationType],
          batch: { key: relation(r), types: relationTypes },
        }));
      default:
        return assertNever(event);
    }
  },
};

const NOTE_VECTOR = `setweight(to_tsvector('english', $3), 'A') || setweight(to_tsvector('english', array_to_string($5::text[], ' ')), 'B')
      || setweight(to_tsvector('english', $4), 'C')`;

const upsertNoteSql = sqlPerTables(
  (
    t,
  ) => `INSERT INTO ${t.memory_notes} (id, user_id, title, content, tags, content_hash, search, created_at, updated_at, revision)
                  VALUES ($1, $2, $3, $4, $5::text[], $6, ${NOTE_VECTOR}, $7, $7, $8)
                  ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, content = EXCLUDED.content, tags = EXCLUDED.tags,
                    content_hash = EXCLUDED.content_hash, search = EXCLUDED.search, updated_at = EXCLUDED.updated_at,
                    revision = EXCLUDED.revision WHERE ${t.memory_notes}.revision < EXCLUDED.revision`,
);

export const memoryNotesProjection: Projection = {
  name: 'memory_notes',
  // 2: GIN indexes with fastupdate = off. With it on, new rows wait in a pending list that every search
  // reads in full until a vacuum merges it (PostgreSQL docs, "GIN Fast Update Technique"): 380 pages, most
  // of a 100k-note search's time, on PGlite, which never autovacuums.
  version: 2,
  tables: {
    memory_notes: `CREATE TABLE {memory_notes} (
      id           text PRIMARY KEY,
      user_id      text NOT NULL,
      title        text NOT NULL,
      content      text NOT NULL,
      tags         text[] NOT NULL,
      content_hash text NOT NULL,
      search       tsvector NOT NULL,
      created_at   timestamptz NOT NULL,
      updated_at   timestamptz NOT NULL,
      revision     bigint NOT NULL
    );
    CREATE INDEX {memory_notes}_user ON {memory_notes} (user_id, updated_at DESC);
    CREATE INDEX {memory_notes}_search ON {memory_notes} USING gin (search) WITH (fastupdate = off);
    CREATE INDEX {memory_notes}_tags ON {memory_notes} USING gin (tags) WITH (fastupdate = off)`,
  },
  eventTypes: [...NoteEvent.options.map((option) => option.shape.type.value), ERASURE.type],
  toStatements(recorded: RecordedEvent, t: Tables): Statement[] {
    if (recorded.type === ERASURE.type)
      return [{ sql: `DELETE FROM ${t.memory_notes} WHERE user_id = $1`, params: [erasedUserId(recorded)] }];
    const event = NoteEvent.parse(recorded);
    const revision = String(recorded.revision);
    switch (event.type) {
      case 'MemoryStored':
      case 'MemoryUpdated': {
        const d = event.data;
        // Upsert guarded by revision: replaying an older event never overwrites a newer row.
        return [
          {
            sql: upsertNoteSql(t),
            params: [d.noteId, d.userId, d.title, d.content, d.tags, contentHash(d.title, d.content), d.at, revision],
            batch: {
              key: d.noteId,
              types: ['text', 'text', 'text', 'text', 'text[]', 'text', 'timestamptz', 'bigint'],
            },
          },
        ];
      }
      case 'MemoryDeleted':
        return [
          {
            sql: `DELETE FROM ${t.memory_notes} WHERE id = $1`,
            params: [event.data.noteId],
            batch: { key: event.data.noteId, types: ['text'] },
          },
        ];
      default:
        return assertNever(event);
    }
  },
};

const noteWriteSql = sqlPerTables(
  (t) => `INSERT INTO ${t.memory_note_writes} (user_id, position_commit, position_prepare) VALUES ($1, $2, $3)
              ON CONFLICT (user_id) DO UPDATE SET position_commit = EXCLUDED.position_commit, position_prepare = EXCLUDED.position_prepare
              WHERE (${t.memory_note_writes}.position_commit, ${t.memory_note_writes}.position_prepare)
                < (EXCLUDED.position_commit, EXCLUDED.position_prepare)`,
);

/**
 * Where each user's last note write sits in the log. A search on any instance waits until its vector
 * index has read that far (read-your-writes across instances), and waits for nothing newer.
 */
export const memoryNoteWritesProjection: Projection = {
  name: 'memory_note_writes',
  version: 1,
  tables: {
    memory_note_writes: `CREATE TABLE {memory_note_writes} (
      user_id          text PRIMARY KEY,
      position_commit  bigint NOT NULL,
      position_prepare bigint NOT NULL
    )`,
  },
  eventTypes: NoteEvent.options.map((option) => option.shape.type.value),
  // Only ever moves forward, so an event applied twice (or late) changes nothing.
  toStatements(recorded: RecordedEvent, t: Tables): Statement[] {
    const event = NoteEvent.parse(recorded);
    return [
      {
        sql: noteWriteSql(t),
        params: [event.data.userId, String(recorded.position.commit), String(recorded.position.prepare)],
        // Positions grow in log order: the later of two writes alone leaves the same row.
        batch: { key: event.data.userId, types: ['text', 'bigint', 'bigint'], supersedes: true },
      },
    ];
  },
};
