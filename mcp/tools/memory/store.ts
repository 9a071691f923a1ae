// Application service of memory: commands become events (graph per user, note per stream), queries read
// the projections. Every write waits for its read model, so what was stored is searchable on return.
import { randomUUID } from 'node:crypto';
import type { CoreServices } from '../../../app/core.ts';
import { handleCommand } from '../../../app/handle.ts';
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
import {
  contentHash,
  memoryGraphProjection,
  memoryNoteWritesProjection,
  memoryNotesProjection,
} from '../../../projections/tools/memory.ts';
import { EmbeddingsClient, fuse, normalize } from './embeddings.ts';
import { MemoryVectorIndex } from './vectors/vector-index.ts';
import { DEFAULT_ANN, type AnnOptions } from './vectors/user-vectors.ts';
import { detectPgvector } from './vectors/pgvector.ts';
import { pgvectorIndexSql } from '../../../projections/tools/embeddings.queries.ts';
import {
  entities,
  listNotes,
  noteById,
  noteIdsByCosine,
  notesByIds,
  notesWithoutEmbedding,
  pgvectorSearchSql,
  relationsAmong,
  searchEntities,
  searchNotesText,
  textCandidates,
  type EntityRow,
  type NoteRow,
} from '../../../projections/tools/memory.queries.ts';

export type Note = { id: string; title: string; content: string; tags: string[]; updatedAt: string };
export type NoteHit = Note & { score: number; match: 'text' | 'vector' | 'both' };
export type Graph = { entities: Entity[]; relations: Relation[] };

/** A graph command as a tool sends it: the user and the time are added here. */
export type GraphInput = GraphCommand extends infer C
  ? C extends GraphCommand
    ? Omit<C, 'userId' | 'now'>
    : never
  : never;

const toNote = (row: NoteRow): Note => ({
  id: row.id,
  title: row.title,
  content: row.content,
  tags: row.tags,
  updatedAt: row.updated_at.toISOString(),
});
const MAX_GRAPH = 10_000;

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
    await this.core.projections.waitFor(result.appended?.position, { projections: [memoryGraphProjection] });
    return result.events;
  }

  private async note(userId: string, noteId: string, command: NoteCommand): Promise<void> {
    const result = await handleCommand(this.core.log, noteStream(noteId), noteDecider, command, {
      actor: this.actor(userId),
    });
    await this.core.projections.waitFor(result.appended?.position, {
      projections: [memoryNotesProjection, memoryNoteWritesProjection],
    });
    const last = result.events.at(-1);
    if (last && last.type !== 'MemoryDeleted')
      await this.embed([{ userId, title: last.data.title, content: last.data.content }]);
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
    const row = await noteById(this.core.db, userId, noteId);
    return row ? toNote(row) : undefined;
  }

  async listNotes(userId: string, options: { tags?: string[] | undefined; limit: number }): Promise<Note[]> {
    const tags = options.tags?.length ? options.tags.map((t) => t.toLowerCase()) : null;
    return (await listNotes(this.core.db, userId, tags, options.limit)).map(toNote);
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
      const rows = await searchNotesText(this.core.db, userId, query, tags, options.limit);
      return {
        mode: 'fulltext',
        results: rows.map((row) => ({ ...toNote(row), score: Number(row.rank ?? 0), match: 'text' })),
      };
    }
    const pool = Math.max(options.limit * 3, 20);
    // Both candidate lists at once: on a server they run on two connections; PGlite runs one statement at
    // a time, but the index search runs here in the meantime.
    const [text, vector] = await Promise.all([
      textCandidates(this.core.db, userId, query, tags, pool),
      this.vectorSearch(userId, normalize(queryVector), tags, pool),
    ]);
    const fused = fuse([text, vector]);
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
      for (const row of await notesByIds(this.core.db, userId, batch)) found.set(row.id, row);
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
    return noteIdsByCosine(this.core.db, userId, vector, this.embeddings!.model, tags, limit);
  }

  /** Embeds texts that have no cached embedding yet; failures are logged, the text stays searchable by words. */
  private async embed(items: readonly { userId: string; title: string; content: string }[]): Promise<number> {
    if (!this.embeddings || items.length === 0) return 0;
    try {
      const vectors = await this.embeddings.embed(items.map((i) => `${i.title}\n${i.content}`));
      await this.embeddings.save(
        this.core.db,
        items.map((i, index) => ({ userId: i.userId, hash: contentHash(i.title, i.content), vector: vectors[index]! })),
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
      const rows = await notesWithoutEmbedding(this.core.db, this.embeddings.model, batch);
      if (rows.length === 0) return { embedded };
      const done = await this.embed(
        rows.map((row) => ({ userId: row.user_id, title: row.title, content: row.content })),
      );
      if (done === 0) throw new Error('the embeddings API failed during backfill');
      embedded += done;
      options.onProgress?.(embedded);
    }
  }

  async readGraph(userId: string, names?: readonly string[]): Promise<Graph> {
    return this.withRelations(userId, await entities(this.core.db, userId, names ?? null, MAX_GRAPH));
  }

  /** Entities matching a query (full text, or a substring of name, type or an observation), best first. */
  async searchNodes(userId: string, query: string): Promise<Graph> {
    return this.withRelations(userId, await searchEntities(this.core.db, userId, query));
  }

  /** The entities plus the relations between them (as the reference server's open_nodes / search_nodes). */
  private async withRelations(userId: string, rows: EntityRow[]): Promise<Graph> {
    const names = rows.map((r) => r.name);
    const relations = await relationsAmong(this.core.db, userId, names);
    return {
      entities: rows.map((r) => ({ name: r.name, entityType: r.entity_type, observations: r.observations })),
      relations: relations.map((r) => ({ from: r.from_name, to: r.to_name, relationType: r.relation_type })),
    };
  }
}
