// The `memory_embeddings` cache: an embedding is a pure function of (text, model), so it is kept by text
// hash and model, not rebuilt from the log, and survives read-model rebuilds. The notes read model
// (memory.queries.ts) joins it for vector search; this file holds its DDL and every statement on it.
import type { Queryable } from '../../db/database.ts';

export const EMBEDDINGS_DDL = `CREATE TABLE IF NOT EXISTS memory_embeddings (
  content_hash text NOT NULL,
  model        text NOT NULL,
  vector       float8[] NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (content_hash, model)
)`;

/** Stores a unit vector for (hash, model); an existing one is kept. */
export const saveEmbedding = async (db: Queryable, hash: string, model: string, vector: number[]): Promise<void> => {
  await db.query(
    'INSERT INTO memory_embeddings (content_hash, model, vector) VALUES ($1, $2, $3::float8[]) ON CONFLICT DO NOTHING',
    [hash, model, vector],
  );
};

/** The cached vectors of these hashes under `model`. */
export const cachedEmbeddings = async (
  db: Queryable,
  model: string,
  hashes: readonly string[],
): Promise<{ content_hash: string; vector: number[] }[]> =>
  (
    await db.query<{ content_hash: string; vector: number[] }>(
      'SELECT content_hash, vector FROM memory_embeddings WHERE model = $1 AND content_hash = ANY($2::text[])',
      [model, [...hashes]],
    )
  ).rows;

/** SQL for the cosine similarity of the row's unit vector `e.vector` and the unit vector parameter `$n`. */
export const cosineSql = (param: string): string =>
  `(SELECT sum(a * b) FROM unnest(e.vector, ${param}::float8[]) AS v(a, b))`;

/** An HNSW index over the cached vectors of one size (pgvector indexes need a fixed dimension). */
export const pgvectorIndexSql = (dims: number): string => {
  const d = Math.trunc(dims);
  return `CREATE INDEX IF NOT EXISTS memory_embeddings_hnsw_${d} ON memory_embeddings
    USING hnsw ((vector::vector(${d})) vector_ip_ops) WHERE array_length(vector, 1) = ${d}`;
};
