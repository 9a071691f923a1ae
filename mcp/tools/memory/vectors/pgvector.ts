// pgvector, where the PostgreSQL server has it installed: the HNSW index lives in the database beside the
// embeddings cache (an expression index per vector size), so every instance shares one. Without it (Debian
// 12 packages none, PGlite ships none) the in-process index (vector-index.ts) answers instead.
import type { Queryable } from '../../../../db/database.ts';

/** The installed pgvector version, or undefined when the extension is not installed in this database. */
export const detectPgvector = async (db: Pick<Queryable, 'query'>): Promise<string | undefined> => {
  const rows = await db.query<{ extversion: string }>(`SELECT extversion FROM pg_extension WHERE extname = 'vector'`);
  return rows.rows[0]?.extversion;
};
