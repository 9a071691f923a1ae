// pgvector, where the PostgreSQL server has it installed: the HNSW index lives in the database beside the
// embeddings cache (an expression index per vector size), so every instance shares one. Without it (Debian
// 12 packages none, PGlite ships none) the in-process index (vector-index.ts) answers instead.
import type { Queryable } from '../../../../db/database.ts';
import { cosineSql } from '../embeddings.ts';

/** The installed pgvector version, or undefined when the extension is not installed in this database. */
export const detectPgvector = async (db: Pick<Queryable, 'query'>): Promise<string | undefined> => {
  const rows = await db.query<{ extversion: string }>(`SELECT extversion FROM pg_extension WHERE extname = 'vector'`);
  return rows.rows[0]?.extversion;
};

/** An HNSW index over the cached vectors of one size (pgvector indexes need a fixed dimension). */
export const pgvectorIndexSql = (dims: number): string => {
  const d = Math.trunc(dims);
  return `CREATE INDEX IF NOT EXISTS memory_embeddings_hnsw_${d} ON memory_embeddings
    USING hnsw ((vector::vector(${d})) vector_ip_ops) WHERE array_length(vector, 1) = ${d}`;
};

/**
 * The user's notes nearest to the unit vector $2: candidates from the HNSW index (oversampled, with
 * pgvector's iterative scan so the user filter does not starve it), re-ranked by the exact float8 cosine,
 * ties by id. Parameters: $1 user, $2 vector, $3 model, $4 tags or null, $5 limit, $6 candidates.
 */
export const pgvectorSearchSql = (dims: number): string => {
  const d = Math.trunc(dims);
  return `SELECT id, title, content, tags, updated_at, cosine FROM (
      SELECT n.id, n.title, n.content, n.tags, n.updated_at, ${cosineSql('$2')} AS cosine
        FROM memory_embeddings e JOIN memory_notes n ON n.content_hash = e.content_hash
       WHERE e.model = $3 AND array_length(e.vector, 1) = ${d} AND n.user_id = $1
         AND ($4::text[] IS NULL OR n.tags @> $4::text[])
       ORDER BY e.vector::vector(${d}) <#> $2::float8[]::vector(${d})
       LIMIT $6) AS candidates
    WHERE cosine > 0 ORDER BY cosine DESC, id LIMIT $5`;
};
