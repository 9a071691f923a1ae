// Memory vector search with the index: build time and memory, vector and hybrid p50/p95, recall@10 against
// an exact scan, all in one run. Usage:
//   node --expose-gc --import tsx bench/memory/vectors.ts [--notes 100000] [--dims 1536] [--queries 200] [--skip-hybrid]
//     [--put-sample 5000]
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
import { DEFAULT_ANN, newGraph, UserVectors } from '../../mcp/tools/memory/vectors/user-vectors.ts';
import { stubRandom, unitInto } from './stub-random.ts';

const { values } = parseArgs({
  options: {
    notes: { type: 'string', default: '100000' },
    dims: { type: 'string', default: '1536' },
    queries: { type: 'string', default: '200' },
    topics: { type: 'string', default: '1000' },
    'skip-hybrid': { type: 'boolean', default: false },
    'put-sample': { type: 'string', default: '5000' },
    'database-url': { type: 'string' },
  },
});
const NOTES = Number(values.notes);
const DIMS = Number(values.dims);
const QUERIES = Number(values.queries);
const TOPICS = Number(values.topics);
const USER = 'bench-user';

const { uniform, normal } = stubRandom();
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

// --- build, as a rebuild from the log does: a page of 1,000 notes at a time, each page one parallel batch ---
const topicOf = (note: number) => (note * 7_919) % TOPICS;
const PAGE = 1_000;
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
/** Puts the points into `into` page by page (deferred, then flushed) or one by one; wall and CPU time. */
const build = (into: UserVectors, points: (note: number) => Float32Array, count: number, batched: boolean) => {
  let wall = 0;
  let cpu = 0;
  for (let first = 0; first < count; first += PAGE) {
    const page = Array.from({ length: Math.min(PAGE, count - first) }, (_, i) => points(first + i));
    const [t, c] = [performance.now(), cpuMs()];
    page.forEach((point, i) => into.put(`n${first + i}`, point, [], `h${first + i}`, batched));
    if (batched) into.flush();
    [wall, cpu] = [wall + performance.now() - t, cpu + cpuMs() - c];
    // Long builds (1M notes) report how far they got, so a run stopped early still says something.
    if (count >= 100_000 && (first + PAGE) % 50_000 === 0)
      process.stderr.write(
        `built ${first + PAGE} of ${count}: ${(wall / 1000).toFixed(0)} s, CPU ${(cpu / 1000).toFixed(0)} s, ` +
          `RSS ${mb(process.memoryUsage().rss)} MB, load ${os.loadavg()[0]!.toFixed(1)}\n`,
      );
  }
  return { seconds: wall / 1000, cpuSeconds: cpu / 1000 };
};
// The baseline in the same run: the same sample of notes put by put (the old rebuild) and page by page.
const SAMPLE = Math.min(NOTES, Number(values['put-sample']));
const sample = Array.from({ length: SAMPLE }, (_, note) => pointOf(topicOf(note)));
const sampleOneByOne = build(new UserVectors(DIMS, DEFAULT_ANN, SAMPLE), (n) => sample[n]!, SAMPLE, false);
const sampleBatched = build(new UserVectors(DIMS, DEFAULT_ANN, SAMPLE), (n) => sample[n]!, SAMPLE, true);
// The previous code's insertion: one vector per usearch add, with its default threads = 0 (a pool per call).
const previous = (() => {
  const graph = newGraph(DIMS);
  const [t, c] = [performance.now(), cpuMs()];
  sample.forEach((point, i) => graph.add(BigInt(i), point));
  return { seconds: (performance.now() - t) / 1000, cpuSeconds: (cpuMs() - c) / 1000 };
})();
sample.length = 0;
gc();
const rssBefore = process.memoryUsage().rss;
const vectors = new UserVectors(DIMS, DEFAULT_ANN, NOTES);
const full = build(vectors, (note) => pointOf(topicOf(note)), NOTES, true);
gc();
const rssAfter = process.memoryUsage().rss;

// --- queries: points of random topics; ground truth by exact scan ---
const queries = Array.from({ length: QUERIES }, () => {
  const topic = Math.floor(uniform() * TOPICS);
  const vector = pointOf(topic);
  // As the embeddings API returns it (a JSON array).
  return { topic, vector, list: Array.from(vector) };
});
/** CPU of the PostgreSQL server's backends serving this benchmark (none for PGlite: it runs in this process). */
let backendPids: number[] = [];
const backendCpuMs = () =>
  backendPids.reduce((sum, pid) => {
    try {
      // proc(5): fields 14 and 15 are utime and stime in clock ticks (100 per second on Linux).
      const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return sum + (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {
      return sum;
    }
  }, 0);
/** Wall time p50/p95 and this process's CPU per query p50/p95 (all its threads), plus server CPU per query. */
const time = async (run: (q: (typeof queries)[number]) => unknown) => {
  for (const q of queries.slice(0, 10)) await run(q); // warm-up
  const times: number[] = [];
  const cpus: number[] = [];
  const backendBefore = backendCpuMs();
  for (const q of queries) {
    const [t, c] = [performance.now(), cpuMs()];
    await run(q);
    times.push(performance.now() - t);
    cpus.push(cpuMs() - c);
  }
  const backend = (backendCpuMs() - backendBefore) / queries.length;
  times.sort((a, b) => a - b);
  cpus.sort((a, b) => a - b);
  return {
    p50: percentile(times, 50),
    p95: percentile(times, 95),
    cpu50: percentile(cpus, 50),
    cpu95: percentile(cpus, 95),
    backend,
  };
};
let found = 0;
for (const q of queries) {
  const exact = new Set(vectors.exact(q.vector, 10).map((h) => h.noteId));
  found += vectors.search(q.vector, 10).filter((h) => exact.has(h.noteId)).length;
}
const recall = found / (queries.length * 10);
const rows: ({ label: string } & Awaited<ReturnType<typeof time>>)[] = [];
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
    if (!services.db.embedded) {
      // Open the pool's connections first, so every backend that will serve the queries is counted.
      await Promise.all(Array.from({ length: 4 }, () => services.db.query('SELECT pg_sleep(0.05)')));
      const pids = await services.db.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      backendPids = [
        ...pids.rows.map((r) => r.pid),
        (await services.db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid,
      ];
    }
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
out(
  `\nmemory vectors: ${NOTES} notes of one user, ${DIMS} dimensions, ${TOPICS} topics, ${QUERIES} queries; ` +
    `load average at the end ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
);
const rate = (count: number, r: { seconds: number; cpuSeconds: number }) =>
  `${r.seconds.toFixed(1)} s (${Math.round(count / r.seconds).toLocaleString('en')} vectors/s, CPU ${r.cpuSeconds.toFixed(1)} s)`;
out(`\n| index build (${os.availableParallelism()} cores) | time |\n|---|---|`);
out(
  `| all ${NOTES} notes, page by page (1,000 per parallel batch), as a rebuild from the log | ${rate(NOTES, full)} |`,
);
out(`| sample of ${SAMPLE}: one add per vector with threads = 0, as before (baseline) | ${rate(SAMPLE, previous)} |`);
out(
  `| sample of ${SAMPLE}: put by put, as the live path now | ${rate(SAMPLE, sampleOneByOne)}: ` +
    `${(previous.seconds / sampleOneByOne.seconds).toFixed(2)}× faster |`,
);
out(
  `| sample of ${SAMPLE}: page by page | ${rate(SAMPLE, sampleBatched)}: ` +
    `${(previous.seconds / sampleBatched.seconds).toFixed(2)}× faster |`,
);
out(
  `memory: RSS +${mb(rssAfter - rssBefore)} MB (float32 arena ${mb(vectors.arena.byteLength)} MB, the rest the f16 graph)`,
);
out(`\nrecall@10 of HNSW + exact re-rank against the exact scan: ${recall.toFixed(4)}`);
if (database) out(`hybrid on ${database}; notes loaded into memory_notes in ${loadSeconds.toFixed(1)} s`);
out(
  '\n| query (k = 30 candidates, as memory_search asks) | p50 ms | p95 ms | CPU p50 ms | CPU p95 ms | server CPU ms/query |' +
    '\n|---|---:|---:|---:|---:|---:|',
);
for (const r of rows)
  out(
    `| ${r.label} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} | ${r.cpu50.toFixed(2)} | ${r.cpu95.toFixed(2)} | ` +
      `${backendPids.length ? r.backend.toFixed(2) : '—'} |`,
  );
out('CPU: this process, all threads (PGlite runs inside it); server CPU: the PostgreSQL backends, from /proc.');
