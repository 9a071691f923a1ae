// Embeddings from an OpenAI-compatible API (POST {baseUrl}/embeddings), cached by user, text hash and model
// in `memory_embeddings`: an embedding is a pure function of (text, model), so it is a cache, not state,
// and survives read-model rebuilds. Vectors are float8[]; cosine similarity is computed in SQL
// (works on PGlite and on servers without pgvector).
import { z } from 'zod';
import type { Queryable } from '../../../db/database.ts';
import { saveEmbedding } from '../../../projections/tools/embeddings.queries.ts';

const EmbeddingResponse = z.object({
  data: z.array(z.object({ index: z.number().int(), embedding: z.array(z.number()) })),
});

export class EmbeddingsClient {
  constructor(
    private readonly config: { apiKey: string; baseUrl: string; model: string },
    private readonly timeoutMs = 15_000,
  ) {}

  get model(): string {
    return this.config.model;
  }

  async embed(texts: readonly string[]): Promise<number[][]> {
    const response = await fetch(`${this.config.baseUrl.replace(/\/+$/, '')}/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.config.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: this.config.model, input: texts }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!response.ok) throw new Error(`embeddings API answered ${response.status}`);
    const parsed = EmbeddingResponse.parse(await response.json());
    const vectors: number[][] = [];
    for (const item of parsed.data) vectors[item.index] = item.embedding;
    if (vectors.length !== texts.length || vectors.some((v) => !v))
      throw new Error('embeddings API returned a different number of vectors');
    return vectors;
  }

  async save(db: Queryable, items: readonly { userId: string; hash: string; vector: number[] }[]): Promise<void> {
    for (const item of items)
      await saveEmbedding(db, item.userId, item.hash, this.config.model, normalize(item.vector));
  }
}

/** Unit length, so cosine similarity is a plain dot product (stored vectors and queries alike). */
export const normalize = (vector: readonly number[]): number[] => {
  const length = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0));
  return length === 0 ? [...vector] : vector.map((x) => x / length);
};

/** Reciprocal rank fusion (Cormack et al. 2009): robust hybrid ranking without score calibration. */
export const fuse = <T extends { id: string }>(
  lists: readonly (readonly T[])[],
  k = 60,
): { item: T; score: number; lists: number[] }[] => {
  const scores = new Map<string, { item: T; score: number; lists: number[] }>();
  lists.forEach((list, listIndex) =>
    list.forEach((item, rank) => {
      const entry = scores.get(item.id) ?? { item, score: 0, lists: [] };
      entry.score += 1 / (k + rank + 1);
      entry.lists.push(listIndex);
      scores.set(item.id, entry);
    }),
  );
  return [...scores.values()].sort((a, b) => b.score - a.score);
};
