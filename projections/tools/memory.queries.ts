// Queries on the memory read models (projections/tools/memory.ts writes them): `memory_entities` and
// `memory_relations` (the graph), `memory_notes` (joined with the embeddings cache for vector search)
// and `memory_note_writes` (read-your-writes for the vector index).
import { prepared, type Queryable, type Row } from '../../db/database.ts';
import { cosineSql } from './embeddings.queries.ts';

export type NoteRow = { id: string; title: string; content: string; tags: string[]; updated_at: Date; rank?: number };
export type EntityRow = { name: string; entity_type: string; observations: string[] };
export type RelationRow = { from_name: string; to_name: string; relation_type: string };

export const noteById = async (db: Queryable, userId: string, noteId: string): Promise<NoteRow | undefined> =>
  (
    await db.query<NoteRow>(
      'SELECT id, title, content, tags, updated_at FROM memory_notes WHERE id = $1 AND user_id = $2',
      [noteId, userId],
    )
  ).rows[0];

/** The user's notes carrying every one of `tags` (lower case; null: any), most recently updated first. */
export const listNotes = async (
  db: Queryable,
  userId: string,
  tags: string[] | null,
  limit: number,
): Promise<NoteRow[]> =>
  (
    await db.query<NoteRow>(
      'SELECT id, title, content, tags, updated_at FROM memory_notes WHERE user_id = $1 AND ($2::text[] IS NULL OR tags @> $2::text[]) ORDER BY updated_at DESC, id LIMIT $3',
      [userId, tags, limit],
    )
  ).rows;

// Full text: ts_rank_cd with normalization 32 (rank / (rank + 1)), ties by recency then id so the order is
// total. Prepared: planning cost as much as running on PGlite. $1 user, $2 query, $3 tags or null, $4 limit.
const TEXT_MATCH = `FROM memory_notes, websearch_to_tsquery('english', $2) AS q
  WHERE user_id = $1 AND search @@ q AND ($3::text[] IS NULL OR tags @> $3::text[])
  ORDER BY rank DESC, updated_at DESC, id LIMIT $4`;
const TEXT_SEARCH = prepared(
  `SELECT id, title, content, tags, updated_at, ts_rank_cd(search, q, 32) AS rank ${TEXT_MATCH}`,
);
const TEXT_CANDIDATES = prepared(`SELECT id, updated_at, ts_rank_cd(search, q, 32) AS rank ${TEXT_MATCH}`);
const ROWS_BY_ID = prepared(
  'SELECT id, title, content, tags, updated_at FROM memory_notes WHERE user_id = $1 AND id = ANY($2::text[])',
);
const LAST_WRITE = prepared(
  'SELECT position_commit::text AS commit, position_prepare::text AS prepare FROM memory_note_writes WHERE user_id = $1',
);

/** Full-text search (ts_rank_cd, title > tags > content), best first, with `rank`. */
export const searchNotesText = async (
  db: Queryable,
  userId: string,
  query: string,
  tags: string[] | null,
  limit: number,
): Promise<NoteRow[]> => (await db.query<NoteRow>(TEXT_SEARCH, [userId, query, tags, limit])).rows;

/** The same ranking, ids only: hybrid fuses these before it reads any content. */
export const textCandidates = async (
  db: Queryable,
  userId: string,
  query: string,
  tags: string[] | null,
  limit: number,
): Promise<{ id: string }[]> => (await db.query<{ id: string }>(TEXT_CANDIDATES, [userId, query, tags, limit])).rows;

/** The user's notes among `ids`, in no particular order. */
export const notesByIds = async (db: Queryable, userId: string, ids: readonly string[]): Promise<NoteRow[]> =>
  (await db.query<NoteRow>(ROWS_BY_ID, [userId, [...ids]])).rows;

/** Exact scan: ids of the user's notes by cosine to the unit vector, only those with a positive one, best first. */
export const noteIdsByCosine = async (
  db: Queryable,
  userId: string,
  vector: readonly number[],
  model: string,
  tags: string[] | null,
  limit: number,
): Promise<{ id: string; cosine: number }[]> =>
  (
    await db.query<{ id: string; cosine: number }>(
      `SELECT * FROM (SELECT n.id, ${cosineSql('$2')} AS cosine
                        FROM memory_notes n JOIN memory_embeddings e
                          ON e.user_id = n.user_id AND e.content_hash = n.content_hash AND e.model = $3
                       WHERE n.user_id = $1 AND ($4::text[] IS NULL OR n.tags @> $4::text[])) AS scored
        WHERE cosine > 0 ORDER BY cosine DESC, id LIMIT $5`,
      [userId, vector, model, tags, limit],
    )
  ).rows;

/**
 * The user's notes nearest to the unit vector $2: candidates from the HNSW index (oversampled, with
 * pgvector's iterative scan so the user filter does not starve it), re-ranked by the exact float8 cosine,
 * ties by id. Parameters: $1 user, $2 vector, $3 model, $4 tags or null, $5 limit, $6 candidates.
 */
export const pgvectorSearchSql = (dims: number): string => {
  const d = Math.trunc(dims);
  return `SELECT id, title, content, tags, updated_at, cosine FROM (
      SELECT n.id, n.title, n.content, n.tags, n.updated_at, ${cosineSql('$2')} AS cosine
        FROM memory_embeddings e JOIN memory_notes n ON n.user_id = e.user_id AND n.content_hash = e.content_hash
       WHERE e.user_id = $1 AND e.model = $3 AND array_length(e.vector, 1) = ${d} AND n.user_id = $1
         AND ($4::text[] IS NULL OR n.tags @> $4::text[])
       ORDER BY e.vector::vector(${d}) <#> $2::float8[]::vector(${d})
       LIMIT $6) AS candidates
    WHERE cosine > 0 ORDER BY cosine DESC, id LIMIT $5`;
};

/** Texts of notes (one per user and distinct text) with no cached embedding under `model`, at most `limit`. */
export const notesWithoutEmbedding = async (
  db: Queryable,
  model: string,
  limit: number,
): Promise<{ user_id: string; title: string; content: string }[]> =>
  (
    await db.query<{ user_id: string; title: string; content: string }>(
      `SELECT DISTINCT ON (n.user_id, n.content_hash) n.user_id, n.title, n.content FROM memory_notes n
           LEFT JOIN memory_embeddings e ON e.user_id = n.user_id AND e.content_hash = n.content_hash AND e.model = $1
          WHERE e.content_hash IS NULL LIMIT $2`,
      [model, limit],
    )
  ).rows;

/** The user's entities named in `names` (null: all), by name, at most `limit`. */
export const entities = async (
  db: Queryable,
  userId: string,
  names: readonly string[] | null,
  limit: number,
): Promise<EntityRow[]> =>
  (
    await db.query<EntityRow>(
      `SELECT name, entity_type, observations FROM memory_entities WHERE user_id = $1 AND ($2::text[] IS NULL OR name = ANY($2::text[])) ORDER BY name LIMIT ${Math.trunc(limit)}`,
      [userId, names ? [...names] : null],
    )
  ).rows;

/** Entities matching a query (full text, or a substring of name, type or an observation), best first. */
export const searchEntities = async (db: Queryable, userId: string, query: string): Promise<EntityRow[]> =>
  (
    await db.query<EntityRow>(
      `SELECT name, entity_type, observations FROM memory_entities, websearch_to_tsquery('english', $2) AS q
        WHERE user_id = $1 AND (search @@ q OR name ILIKE $3 OR entity_type ILIKE $3 OR array_to_string(observations, ' ') ILIKE $3)
        ORDER BY ts_rank_cd(search, q, 32) DESC, name LIMIT 200`,
      [userId, query, `%${query.replace(/[\\%_]/g, '\\$&')}%`],
    )
  ).rows;

/** The user's relations whose both ends are among `names`. */
export const relationsAmong = async (db: Queryable, userId: string, names: readonly string[]): Promise<RelationRow[]> =>
  (
    await db.query<RelationRow>(
      'SELECT from_name, to_name, relation_type FROM memory_relations WHERE user_id = $1 AND from_name = ANY($2::text[]) AND to_name = ANY($2::text[]) ORDER BY 1, 2, 3',
      [userId, [...names]],
    )
  ).rows;

/** Position of the user's last note write, as text (bigints). */
export const lastNoteWrite = async (
  db: Queryable,
  userId: string,
): Promise<{ commit: string; prepare: string } | undefined> =>
  (await db.query<{ commit: string; prepare: string }>(LAST_WRITE, [userId])).rows[0];

/** The memory tables the admin panel browses, each with the column that orders it newest first. */
export const MEMORY_TABLES = [
  { name: 'memory_entities', title: 'Entities', order: 'updated_at' },
  { name: 'memory_relations', title: 'Relations', order: 'from_name' },
  { name: 'memory_notes', title: 'Notes', order: 'updated_at' },
] as const;
export type MemoryTable = (typeof MEMORY_TABLES)[number];

/**
 * Rows of one of MEMORY_TABLES (every one has user_id), newest first: those of `userId`, and those whose
 * text holds `q` (LIKE wildcards escaped). The table name comes from the fixed list, never from a request.
 */
export const browseMemoryTable = async (
  db: Queryable,
  table: MemoryTable,
  filter: { q?: string | undefined; userId?: string | undefined },
  limit: number,
): Promise<{ columns: string[]; rows: Row[] }> => {
  const { q, userId } = filter;
  const where: string[] = [];
  const params: unknown[] = [];
  if (q) where.push(`t::text ILIKE $${params.push(`%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)}`);
  if (userId) where.push(`t.user_id = $${params.push(userId)}`);
  const result = await db.query(
    `SELECT * FROM ${table.name} t ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${table.order} DESC LIMIT ${Math.trunc(limit)}`,
    params,
  );
  return { columns: result.fields.map((field) => field.name), rows: result.rows };
};
