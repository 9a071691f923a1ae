// The `memory_embeddings` cache: an embedding is a pure function of (text, model), so it is kept by text
// hash and model, not rebuilt from the log, and survives read-model rebuilds. The notes read model
// (memory.queries.ts) joins it for vector search; this file holds its DDL and every statement on it.
//
// Each row belongs to one user, even where two users stored the same text. A vector and the hash of a
// text are derived from that user's notes (a hash of a short note can be reversed by guessing), so they
// go when the user is erased (GDPR Art. 17); a cache shared by hash would let one user's erasure delete
// another's vectors, and let a user learn from a cache hit that someone else stored the same text.
import type { Queryable } from '../../db/database.ts';

export const EMBEDDINGS_DDL = `CREATE TABLE IF NOT EXISTS memory_embeddings (
  user_id      text NOT NULL,
  content_hash text NOT NULL,
  model        text NOT NULL,
  vector       float8[] NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, content_hash, model)
)`;

/**
 * Creates the cache, or brings one shared by hash (no `user_id`) to one row per user: each row of the
 * old table goes to every user whose notes hold that text; rows no note holds any more are dropped.
 */
export const createEmbeddingsCache = async (db: Queryable): Promise<void> => {
  const shared = await db.query(
    `SELECT 1 FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'memory_embeddings' AND column_name = 'model'
        AND NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
                          AND table_name = 'memory_embeddings' AND column_name = 'user_id')`,
  );
  if (shared.rows.length === 0) {
    await db.query(EMBEDDINGS_DDL);
    return;
  }
  await db.query('ALTER TABLE memory_embeddings RENAME TO memory_embeddings_shared');
  await db.query(EMBEDDINGS_DDL);
  const notes = await db.query<{ name: string | null }>(`SELECT to_regclass('memory_notes')::text AS name`);
  if (notes.rows[0]?.name)
    await db.query(
      `INSERT INTO memory_embeddings (user_id, content_hash, model, vector, created_at)
       SELECT n.user_id, e.content_hash, e.model, e.vector, e.created_at
         FROM memory_embeddings_shared e JOIN memory_notes n ON n.content_hash = e.content_hash
       ON CONFLICT DO NOTHING`,
    );
  await db.query('DROP TABLE memory_embeddings_shared');
};

/** Stores the user's unit vector for (hash, model); an existing one is kept. */
export const saveEmbedding = async (
  db: Queryable,
  userId: string,
  hash: string,
  model: string,
  vector: number[],
): Promise<void> => {
  await db.query(
    'INSERT INTO memory_embeddings (user_id, content_hash, model, vector) VALUES ($1, $2, $3, $4::float8[]) ON CONFLICT DO NOTHING',
    [userId, hash, model, vector],
  );
};

/** The cached vectors of these (user, hash) pairs under `model`. */
export const cachedEmbeddings = async (
  db: Queryable,
  model: string,
  wanted: readonly { userId: string; hash: string }[],
): Promise<{ user_id: string; content_hash: string; vector: number[] }[]> =>
  (
    await db.query<{ user_id: string; content_hash: string; vector: number[] }>(
      `SELECT e.user_id, e.content_hash, e.vector
         FROM unnest($2::text[], $3::text[]) AS w(user_id, content_hash)
         JOIN memory_embeddings e ON e.user_id = w.user_id AND e.content_hash = w.content_hash AND e.model = $1`,
      [model, wanted.map((w) => w.userId), wanted.map((w) => w.hash)],
    )
  ).rows;

/** Deletes every cached vector of the user (erasure); the count deleted. Nothing when there is no cache. */
export const dropUserEmbeddings = async (db: Queryable, userId: string): Promise<number> => {
  const exists = await db.query<{ name: string | null }>(`SELECT to_regclass('memory_embeddings')::text AS name`);
  if (!exists.rows[0]?.name) return 0;
  return (await db.query('DELETE FROM memory_embeddings WHERE user_id = $1', [userId])).rowCount ?? 0;
};

/** SQL for the cosine similarity of the row's unit vector `e.vector` and the unit vector parameter `$n`. */
export const cosineSql = (param: string): string =>
  `(SELECT sum(a * b) FROM unnest(e.vector, ${param}::float8[]) AS v(a, b))`;

/** An HNSW index over the cached vectors of one size (pgvector indexes need a fixed dimension). */
export const pgvectorIndexSql = (dims: number): string => {
  const d = Math.trunc(dims);
  return `CREATE INDEX IF NOT EXISTS memory_embeddings_hnsw_${d} ON memory_embeddings
    USING hnsw ((vector::vector(${d})) vector_ip_ops) WHERE array_length(vector, 1) = ${d}`;
};
