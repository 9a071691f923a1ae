// Memory: the store (events → projections → search) and the memory_* tools on top of it.
import type { CoreServices } from '../../../app/core.ts';
import type { Tool } from '../define.ts';
import { createEmbeddingsCache } from '../../../projections/tools/embeddings.queries.ts';
import { MemoryStore } from './store.ts';
import { memoryTools } from './tools.ts';

export { MemoryStore } from './store.ts';

export type Memory = {
  readonly store: MemoryStore;
  readonly tools: Tool[];
  /** Embeds notes stored before embeddings were enabled (CLI: `remotemcp memory backfill-embeddings`). */
  backfillEmbeddings(options?: {
    batchSize?: number;
    onProgress?: (done: number) => void;
  }): Promise<{ embedded: number }>;
  close(): Promise<void>;
};

export const createMemory = async (core: CoreServices): Promise<Memory> => {
  // A cache keyed by (user, text hash, model), not a read model: see embeddings.ts.
  // Serialized: concurrent CREATE TABLE IF NOT EXISTS (or the upgrade) from two starting instances collide.
  await core.db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('remotemcp:memory-embeddings'))`);
    await createEmbeddingsCache(tx);
  });
  const store = new MemoryStore(core);
  // Warm the vector index in the background: loading it from disk (or rebuilding it) must not hold up start-up.
  store
    .vectorsStarted()
    .catch((error: unknown) =>
      core.logger.warn({ err: (error as Error).message }, 'memory vector index did not start'),
    );
  return {
    store,
    tools: memoryTools(store),
    backfillEmbeddings: (options) => store.backfillEmbeddings(options),
    close: () => store.close(),
  };
};
