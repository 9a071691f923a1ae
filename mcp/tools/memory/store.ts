// Application service of memory: commands become events (graph per user, note per stream), queries read
// the projections. Every write waits for its read model, so what was stored is searchable on return.
import { randomUUID } from 'node:crypto';
import type { CoreServices } from '../../../app/core.ts';
import { handleCommand } from '../../../app/handle.ts';
import { prepared } from '../../../db/database.ts';
import {
  graphDecider,
  graphStream,
  noteDecider,
  noteStream,
  type Entity,
  type GraphCommand,
  type GraphEvent,
  type NoteCommand,
  type Relation,
} from '../../../domain/memory/index.ts';
import type { Actor } from '../../../domain/shared.ts';
import { contentHash } from '../../../projections/tools/memory.ts';
import { cosineSql, EmbeddingsClient, fuse, normalize } from './embeddings.ts';
import { MemoryVectorIndex } from './vectors/vector-index.ts';
import { DEFAULT_ANN, type AnnOptions } from './vectors/user-vectors.ts';
import { detectPgvector, pgvectorIndexSql, pgvectorSearchSql } from './vectors/pgvector.ts';

export type Note = { id: string; title: string; content: string; tags: string[]; updatedAt: string };
export type NoteHit = Note & { score: number; match: 'text' | 'vector' | 'both' };
export type Graph = { entities: Entity[]; relations: Relation[] };

/** A graph command as a tool sends it: the user and the time are added here. */
export type GraphInput = GraphCommand extends infer C
  ? C extends GraphCommand
    ? Omit<C, 'userId' | 'now'>
    : never
  : never;

type NoteRow = { id: string; title: string; content: string; tags: string[]; updated_at: Date; rank?: number };
const toNote = (row: NoteRow): Note => ({
  id: row.id,
  title: row.title,
  content: row.content,
  tags: row.tags,
  updatedAt: row.updated_at.toISOString(),
});
const MAX_GRAPH = 10_000;

// Full text: ts_rank_cd with normalization 32 (rank / (rank + 1)), ties by recency then id so the order is
// total. Prepared: planning cost as much as running on PGlite. $1 user, $2 query, $3 tags or null, $4 limit.
const TEXT_MATCH = `FROM memory_notes, websearch_to_tsquery('english', $2) AS q
  WHERE user_id = $1 AND search @@ q AND ($3::text[] IS NULL OR tags @> $3::text[])
  ORDER BY rank DESC, updated_at DESC, id LIMIT $4`;
const TEXT_SEARCH = prepared(
  `SELECT id, title, content, tags, updated_at, ts_rank_cd(search, q, 32) AS rank ${TEXT_MATCH}`,
);
/** The same ranking, ids only: hybrid fuses these before it reads any content. */
const TEXT_CANDIDATES = prepared(`SELECT id, updated_at, ts_rank_cd(search, q, 32) AS rank ${TEXT_MATCH}`);
const ROWS_BY_ID = prepared(
  'SELECT id, title, content, tags, updated_at FROM memory_notes WHERE user_id = $1 AND id = ANY($2::text[])',
);

export class MemoryStore {
  readonly embeddings: EmbeddingsClient | undefined;
  /** This instance's vector index of the notes (a read model in memory, saved under MEMORY_INDEX_DIR). */
  readonly vectors: MemoryVectorIndex | undefined;
  private started: Promise<void> | undefined;

  constructor(
    private readonly core: CoreServices,
    options: { ann?: Partial<AnnOptions> } = {},
  ) {
    this.embeddings = core.config.openai ? new EmbeddingsClient(core.config.openai) : undefined;
    this.vectors = this.embeddings
      ? new MemoryVectorIndex(core.db, core.log, core.logger, {
          model: this.embeddings.model,
          dir: core.config.memoryIndexDir,
          ...(options.ann ? { ann: options.ann } : {}),
        })
      : undefined;
  }

  /** Which vector search answers: pgvector where the server has it installed, else this instance's index. */
  backend: 'pgvector' | 'index' | 'none' = 'none';
  /** Vector searches the exact SQL scan answered because the backend could not (tests, status). */
  fallbacks = 0;
  private readonly pgvectorIndexes = new Set<number>();

  /** Picks the backend and starts the index (load from disk, then follow the log); searches wait for this. */
  vectorsStarted(): Promise<void> {
    this.started ??= (async () => {
      if (!this.vectors) return;
      const pgvector = this.core.db.embedded ? undefined : await detectPgvector(this.core.db);
      if (pgvector) {
        this.backend = 'pgvector';
        this.core.logger.info({ pgvector }, 'memory vector search uses pgvector');
        return;
      }
      await this.vectors.start();
      this.backend = 'index';
    })();
    return this.started;
  }

  /** pgvector: HNSW candidates (one expression index per vector size), re-ranked exactly in SQL. */
  private async pgvectorSearch(userId: string, vector: number[], tags: string[] | null, limit: number) {
    const dims = vector.length;
    if (!this.pgvectorIndexes.has(dims)) {
      await this.core.db.query(pgvectorIndexSql(dims));
      this.pgvectorIndexes.add(dims);
    }
    return this.core.db.transaction(async (tx) => {
      // pgvector 0.8: keep scanning the graph until enough rows pass the user filter.
      await tx.query(`SET LOCAL hnsw.iterative_scan = relaxed_order`);
      const rows = await tx.query<NoteRow>(pgvectorSearchSql(dims), [
        userId,
        vector,
        this.embeddings!.model,
        tags,
        limit,
        Math.max(limit * DEFAULT_ANN.oversample, DEFAULT_ANN.minCandidates),
      ]);
      return rows.rows;
    });
  }

  async close(): Promise<void> {
    if (this.started) await this.started.catch(() => undefined);
    await this.vectors?.close();
  }

  private actor(userId: string): Actor {
    return { type: 'user', id: userId };
  }

  async graph(userId: string, command: GraphInput): Promise<GraphEvent[]> {
    const full = { ...command, userId, now: new Date() } as GraphCommand;
    const result = await handleCommand(this.core.log, graphStream(userId), graphDecider, full, {
      actor: this.actor(userId),
    });
    await this.core.projections.waitFor(result.appended?.position, { names: ['memory_graph'] });
    return result.events;
  }

  private async note(userId: string, noteId: string, command: NoteCommand): Promise<void> {
    const result = await handleCommand(this.core.log, noteStream(noteId), noteDecider, command, {
      actor: this.actor(userId),
    });
    await this.core.projections.waitFor(result.appended?.position, { names: ['memory_notes', 'memory_note_writes'] });
    const last = result.events.at(-1);
    if (last && last.type !== 'MemoryDeleted')
      await this.embed([{ title: last.data.title, content: last.data.content }]);
  }

  async storeNote(userId: string, input: { title: string; content: string; tags: string[] }): Promise<Note> {
    const noteId = randomUUID();
    await this.note(userId, noteId, { type: 'StoreNote', noteId, userId, ...input, now: new Date() });
    return (await this.getNote(userId, noteId))!;
  }

  async updateNote(
    userId: string,
    noteId: string,
    changes: { title?: string; content?: string; tags?: string[] },
  ): Promise<Note> {
    await this.note(userId, noteId, { type: 'UpdateNote', noteId, userId, ...changes, now: new Date() });
    return (await this.getNote(userId, noteId))!;
  }

  async deleteNote(userId: string, noteId: string): Promise<void> {
    await this.note(userId, noteId, { type: 'DeleteNote', noteId, userId, now: new Date() });
  }

  async getNote(userId: string, noteId: string): Promise<Note | undefined> {
    const rows = await this.core.db.query<NoteRow>(
      'SELECT id, title, content, tags, updated_at FROM memory_notes WHERE id = $1 AND user_id = $2',
      [noteId, userId],
    );
    return rows.rows[0] ? toNote(rows.rows[0]) : undefined;
  }

  async listNotes(userId: string, options: { tags?: string[] | undefined; limit: number }): Promise<Note[]> {
    const rows = await this.core.db.query<NoteRow>(
      'SELECT id, title, content, tags, updated_at FROM memory_notes WHERE user_id = $1 AND ($2::text[] IS NULL OR tags @> $2::text[]) ORDER BY updated_at DESC, id LIMIT $3',
      [userId, options.tags?.length ? options.tags.map((t) => t.toLowerCase()) : null, options.limit],
    );
    return rows.rows.map(toNote);
  }

  /** Full-text search (ts_rank_cd, title > tags > content); hybrid with vector search when embeddings are on. */
  async searchNotes(
    userId: string,
    query: string,
    options: { tags?: string[] | undefined; limit: number },
  ): Promise<{ mode: 'fulltext' | 'hybrid'; results: NoteHit[] }> {
    let vector: number[] | undefined;
    if (this.embeddings) {
      try {
        [vector] = await this.embeddings.embed([query]);
      } catch (error) {
        this.core.logger.warn({ err: error }, 'embedding the search query failed; full-text only');
      }
    }
    return this.searchWith(userId, query, vector, options);
  }

  /**
   * The search itself, given the query's embedding (or none: full text only). Hybrid ranks ids only: the
   * full-text candidates (ids and ranks from the GIN index) and the vector candidates are fused, and the
   * rows (content included) are read for the fused top `limit` alone.
   */
  async searchWith(
    userId: string,
    query: string,
    queryVector: readonly number[] | undefined,
    options: { tags?: string[] | undefined; limit: number },
  ): Promise<{ mode: 'fulltext' | 'hybrid'; results: NoteHit[] }> {
    const tags = options.tags?.length ? options.tags.map((t) => t.toLowerCase()) : null;
    if (!queryVector) {
      const rows = await this.core.db.query<NoteRow>(TEXT_SEARCH, [userId, query, tags, options.limit]);
      return {
        mode: 'fulltext',
        results: rows.rows.map((row) => ({ ...toNote(row), score: Number(row.rank ?? 0), match: 'text' })),
      };
    }
    const pool = Math.max(options.limit * 3, 20);
    // Both candidate lists at once: on a server they run on two connections; PGlite runs one statement at
    // a time, but the index search runs here in the meantime.
    const [text, vector] = await Promise.all([
      this.core.db.query<{ id: string }>(TEXT_CANDIDATES, [userId, query, tags, pool]),
      this.vectorSearch(userId, normalize(queryVector), tags, pool),
    ]);
    const fused = fuse([text.rows, vector]);
    const rows = await this.rowsOf(
      userId,
      fused.map(({ item }) => item.id),
      options.limit,
    );
    return {
      mode: 'hybrid',
      results: fused
        .flatMap(({ item, score, lists }) => {
          const row = rows.get(item.id);
          if (!row) return [];
          const match = lists.length === 2 ? 'both' : lists[0] === 0 ? 'text' : 'vector';
          return [{ ...toNote(row), score: Math.round(score * 1e6) / 1e6, match } as NoteHit];
        })
        .slice(0, options.limit),
    };
  }

  /**
   * The rows of the first `limit` of these ids that still exist for the user, read `limit` at a time (one
   * query unless a candidate was deleted since its list was made).
   */
  private async rowsOf(userId: string, ids: readonly string[], limit: number): Promise<Map<string, NoteRow>> {
    const found = new Map<string, NoteRow>();
    for (let from = 0; from < ids.length && found.size < limit;) {
      const batch = ids.slice(from, from + limit - found.size);
      from += batch.length;
      const rows = await this.core.db.query<NoteRow>(ROWS_BY_ID, [userId, batch]);
      for (const row of rows.rows) found.set(row.id, row);
    }
    return found;
  }

  /**
   * The ids of the user's notes closest in meaning, best first, only those with a positive cosine. From the
   * vector index (vectors/); while it cannot answer (still loading, stopped) from an exact scan in SQL.
   */
  private async vectorSearch(
    userId: string,
    vector: number[],
    tags: string[] | null,
    limit: number,
  ): Promise<{ id: string }[]> {
    if (this.vectors) {
      try {
        await this.vectorsStarted();
        if (this.backend === 'pgvector') return await this.pgvectorSearch(userId, vector, tags, limit);
        const hits = await this.vectors.search(userId, vector, limit, tags ?? undefined);
        return hits.filter((h) => h.score > 0).map((h) => ({ id: h.noteId }));
      } catch (error) {
        this.fallbacks += 1;
        this.core.logger.warn({ err: (error as Error).message }, 'memory vector index not ready: exact scan');
      }
    }
    const rows = await this.core.db.query<{ id: string; cosine: number }>(
      `SELECT * FROM (SELECT n.id, ${cosineSql('$2')} AS cosine
                        FROM memory_notes n JOIN memory_embeddings e ON e.content_hash = n.content_hash AND e.model = $3
                       WHERE n.user_id = $1 AND ($4::text[] IS NULL OR n.tags @> $4::text[])) AS scored
        WHERE cosine > 0 ORDER BY cosine DESC, id LIMIT $5`,
      [userId, vector, this.embeddings!.model, tags, limit],
    );
    return rows.rows;
  }

  /** Embeds texts that have no cached embedding yet; failures are logged, the text stays searchable by words. */
  private async embed(items: readonly { title: string; content: string }[]): Promise<number> {
    if (!this.embeddings || items.length === 0) return 0;
    try {
      const vectors = await this.embeddings.embed(items.map((i) => `${i.title}\n${i.content}`));
      await this.embeddings.save(
        this.core.db,
        items.map((i, index) => ({ hash: contentHash(i.title, i.content), vector: vectors[index]! })),
      );
      return items.length;
    } catch (error) {
      this.core.logger.warn({ err: error }, 'embedding failed; the memory is searchable by full text only');
      return 0;
    }
  }

  /** Embeds every stored note that has no embedding for the configured model (after enabling embeddings). */
  async backfillEmbeddings(
    options: { batchSize?: number; onProgress?: (done: number) => void } = {},
  ): Promise<{ embedded: number }> {
    if (!this.embeddings) return { embedded: 0 };
    const batch = options.batchSize ?? 50;
    let embedded = 0;
    for (;;) {
      const rows = await this.core.db.query<{ title: string; content: string }>(
        `SELECT DISTINCT ON (n.content_hash) n.title, n.content FROM memory_notes n
           LEFT JOIN memory_embeddings e ON e.content_hash = n.content_hash AND e.model = $1
          WHERE e.content_hash IS NULL LIMIT $2`,
        [this.embeddings.model, batch],
      );
      if (rows.rows.length === 0) return { embedded };
      const done = await this.embed(rows.rows);
      if (done === 0) throw new Error('the embeddings API failed during backfill');
      embedded += done;
      options.onProgress?.(embedded);
    }
  }

  async readGraph(userId: string, names?: readonly string[]): Promise<Graph> {
    const entities = await this.core.db.query<{ name: string; entity_type: string; observations: string[] }>(
      `SELECT name, entity_type, observations FROM memory_entities WHERE user_id = $1 AND ($2::text[] IS NULL OR name = ANY($2::text[])) ORDER BY name LIMIT ${MAX_GRAPH}`,
      [userId, names ? [...names] : null],
    );
    return this.withRelations(userId, entities.rows);
  }

  /** Entities matching a query (full text, or a substring of name, type or an observation), best first. */
  async searchNodes(userId: string, query: string): Promise<Graph> {
    const entities = await this.core.db.query<{ name: string; entity_type: string; observations: string[] }>(
      `SELECT name, entity_type, observations FROM memory_entities, websearch_to_tsquery('english', $2) AS q
        WHERE user_id = $1 AND (search @@ q OR name ILIKE $3 OR entity_type ILIKE $3 OR array_to_string(observations, ' ') ILIKE $3)
        ORDER BY ts_rank_cd(search, q, 32) DESC, name LIMIT 200`,
      [userId, query, `%${query.replace(/[\\%_]/g, '\\$&')}%`],
    );
    return this.withRelations(userId, entities.rows);
  }

  /** The entities plus the relations between them (as the reference server's open_nodes / search_nodes). */
  private async withRelations(
    userId: string,
    rows: { name: string; entity_type: string; observations: string[] }[],
  ): Promise<Graph> {
    const names = rows.map((r) => r.name);
    const relations = await this.core.db.query<{ from_name: string; to_name: string; relation_type: string }>(
      'SELECT from_name, to_name, relation_type FROM memory_relations WHERE user_id = $1 AND from_name = ANY($2::text[]) AND to_name = ANY($2::text[]) ORDER BY 1, 2, 3',
      [userId, names],
    );
    return {
      entities: rows.map((r) => ({ name: r.name, entityType: r.entity_type, observations: r.observations })),
      relations: relations.rows.map((r) => ({ from: r.from_name, to: r.to_name, relationType: r.relation_type })),
    };
  }
}
