// Memory vector search with the index: build time and memory, vector and hybrid p50/p95, recall@10 against
// an exact scan, all in one run. Usage:
//   node --expose-gc --import tsx bench/memory/vectors.ts [--notes 100000] [--dims 1536] [--queries 200] [--skip-hybrid]
//     [--batch-build]
//     [--database-url postgres://…/scratch]
// 1M notes at 384 dimensions: --notes 1000000 --dims 384 --skip-hybrid (about 3 GB of memory).
// Embeddings are deterministic stubs from a clustered generator: topics are random unit centres, a note is
// its topic's centre plus noise, so nearest neighbours are meaningful (as with real embeddings) and
// recall is not flattered by uniform noise. One user owns every note: the largest per-user index.
// Hybrid runs MemoryStore.searchWith (full text in SQL + the index, fused) with the notes in memory_notes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../app/config.ts';
import { createLogger } from '../../app/logger.ts';
import { openServices } from '../../app/services.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { applyStatements, liveTables, type Statement } from '../../projections/sql.ts';
import { memoryNotesProjection } from '../../projections/tools/memory.ts';
import { DEFAULT_ANN, UserVectors } from '../../mcp/tools/memory/vectors/user-vectors.ts';

const { values } = parseArgs({
  options: {
    notes: { type: 'string', default: '100000' },
    dims: { type: 'string', default: '1536' },
    queries: { type: 'string', default: '200' },
    topics: { type: 'string', default: '1000' },
    'skip-hybrid': { type: 'boolean', default: false },
    'batch-build': { type: 'boolean', default: false },
    'database-url': { type: 'string' },
  },
});
const NOTES = Number(values.notes);
const DIMS = Number(values.dims);
const QUERIES = Number(values.queries);
const TOPICS = Number(values.topics);
const USER = 'bench-user';

// mulberry32: small, seeded, good enough for test data; Box-Muller for normal noise.
let state = 42;
const uniform = () => {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
};
const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
const unitInto = (out: Float32Array) => {
  let sum = 0;
  for (let i = 0; i < out.length; i += 1) sum += out[i]! * out[i]!;
  const length = Math.sqrt(sum) || 1;
  for (let i = 0; i < out.length; i += 1) out[i]! /= length;
  return out;
};
const centres = Array.from({ length: TOPICS }, () => unitInto(Float32Array.from({ length: DIMS }, normal)));
/** A point of `topic`: the centre plus noise about as long as the centre (cosine to it ≈ 0.7). */
const pointOf = (topic: number): Float32Array => {
  const centre = centres[topic]!;
  const out = new Float32Array(DIMS);
  const sigma = 1 / Math.sqrt(DIMS);
  for (let i = 0; i < DIMS; i += 1) out[i] = centre[i]! + normal() * sigma;
  return unitInto(out);
};
const topicWords = (topic: number) => [`topic${topic}`, `t${topic % 97}x`, `t${topic % 31}y`];
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
const gc = () => (globalThis as { gc?: () => void }).gc?.();

// --- build: every note's vector into one user's index, as a rebuild from the log does (put by put) ---
const topicOf = (note: number) => (note * 7_919) % TOPICS;
gc();
const rssBefore = process.memoryUsage().rss;
const vectors = new UserVectors(DIMS, DEFAULT_ANN, NOTES);
const buildStarted = performance.now();
for (let note = 0; note < NOTES; note += 1) vectors.put(`n${note}`, pointOf(topicOf(note)), [], `h${note}`);
const buildSeconds = (performance.now() - buildStarted) / 1000;
gc();
const rssAfter = process.memoryUsage().rss;
// --batch-build: the same vectors again as one batch with every core (a restart without a saved graph).
const batchStarted = performance.now();
if (values['batch-build']) vectors.buildGraph(0);
const batchSeconds = (performance.now() - batchStarted) / 1000;

// --- queries: points of random topics; ground truth by exact scan ---
const queries = Array.from({ length: QUERIES }, () => {
  const topic = Math.floor(uniform() * TOPICS);
  const vector = pointOf(topic);
  // As the embeddings API returns it (a JSON array).
  return { topic, vector, list: Array.from(vector) };
});
const time = async (run: (q: (typeof queries)[number]) => unknown) => {
  for (const q of queries.slice(0, 10)) await run(q); // warm-up
  const times: number[] = [];
  for (const q of queries) {
    const t = performance.now();
    await run(q);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p95: percentile(times, 95) };
};
let found = 0;
for (const q of queries) {
  const exact = new Set(vectors.exact(q.vector, 10).map((h) => h.noteId));
  found += vectors.search(q.vector, 10).filter((h) => exact.has(h.noteId)).length;
}
const recall = found / (queries.length * 10);
const rows: { label: string; p50: number; p95: number }[] = [];
rows.push({ label: 'vector: exact scan (reference)', ...(await time((q) => vectors.exact(q.vector, 30))) });
rows.push({ label: 'vector: HNSW + exact re-rank', ...(await time((q) => vectors.search(q.vector, 30))) });

// --- hybrid through MemoryStore, with the notes in memory_notes ---
let database = '';
let loadSeconds = 0;
if (!values['skip-hybrid']) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-bench-vectors-'));
  const config = loadConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    OPENAI_API_KEY: 'unused-by-the-benchmark',
    EMBEDDING_MODEL: 'bench',
    ...(values['database-url'] ? { DATABASE_URL: values['database-url'] } : {}),
  });
  const services = await openServices(config, createLogger('silent'));
  try {
    const tables = liveTables(memoryNotesProjection);
    const loadStarted = performance.now();
    for (let i = 0; i < NOTES; i += 1_000) {
      const statements: Statement[] = [];
      for (let note = i; note < Math.min(NOTES, i + 1_000); note += 1) {
        const words = topicWords(topicOf(note));
        const data = {
          noteId: `n${note}`,
          userId: USER,
          title: `${words[0]} note ${note}`,
          content: `${words.join(' ')} filler${note % 1000} text about ${words[1]}`,
          tags: [],
          at: new Date(0).toISOString(),
        };
        const event = {
          ...{ id: '', stream: '', revision: 0n, position: { commit: 0n, prepare: 0n } },
          ...{ type: 'MemoryStored', data, metadata: {}, createdAt: new Date() },
        } satisfies RecordedEvent;
        statements.push(...memoryNotesProjection.toStatements(event, tables));
      }
      await services.db.transaction((tx) => applyStatements(tx, statements));
    }
    await services.db.query('ANALYZE memory_notes');
    loadSeconds = (performance.now() - loadStarted) / 1000;
    const store = services.tools.memory.store;
    await store.vectorsStarted();
    store.vectors!.adopt(USER, vectors);
    database = services.db.embedded ? 'embedded PGlite' : 'PostgreSQL server';
    rows.push({
      label: 'full text only (memory_search without embeddings)',
      ...(await time((q) => store.searchWith(USER, topicWords(q.topic)[0]!, undefined, { limit: 10 }))),
    });
    rows.push({
      label: 'hybrid (memory_search: full text + index, fused)',
      ...(await time((q) => store.searchWith(USER, topicWords(q.topic)[0]!, q.list, { limit: 10 }))),
    });
    if (store.fallbacks > 0) throw new Error('the index did not answer: the SQL scan did');
  } finally {
    await services.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const out = (line: string) => process.stdout.write(`${line}\n`);
out(`\nmemory vectors: ${NOTES} notes of one user, ${DIMS} dimensions, ${TOPICS} topics, ${QUERIES} queries`);
out(
  `index build (put by put, as a rebuild from the log): ${buildSeconds.toFixed(1)} s` +
    (values['batch-build'] ? `; as one batch on ${os.availableParallelism()} cores: ${batchSeconds.toFixed(1)} s` : ''),
);
out(
  `memory: RSS +${mb(rssAfter - rssBefore)} MB (float32 arena ${mb(vectors.arena.byteLength)} MB, the rest the f16 graph)`,
);
out(`recall@10 of HNSW + exact re-rank against the exact scan: ${recall.toFixed(4)}`);
if (database) out(`hybrid on ${database}; notes loaded into memory_notes in ${loadSeconds.toFixed(1)} s`);
out('\n| query (k = 30 candidates, as memory_search asks) | p50 ms | p95 ms |\n|---|---:|---:|');
for (const r of rows) out(`| ${r.label} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} |`);
