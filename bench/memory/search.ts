// Memory search latency: p50/p95 of memory_search's full-text query (and, with --vector, the cosine
// scan) over N notes of one user among others. Usage:
//   node --import tsx bench/memory/search.ts [--notes 100000] [--queries 200] [--vector] [--database-url postgres://…/scratch]
// (--database-url: an empty scratch database; without it an embedded PGlite in a temp dir.)
// Notes go straight into the memory_notes read model through the projection's own statements (the event
// log is not what is measured here); queries run through MemoryStore.searchNotes like the tool does.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../app/config.ts';
import { createLogger } from '../../app/logger.ts';
import { openServices } from '../../app/services.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { applyStatements, liveTables, type Statement } from '../../projections/sql.ts';
import { contentHash, memoryNotesProjection } from '../../projections/tools/memory.ts';
import { normalize } from '../../mcp/tools/memory/embeddings.ts';
import { cosineSql } from '../../projections/tools/embeddings.queries.ts';

const { values } = parseArgs({
  options: {
    notes: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '200' },
    vector: { type: 'boolean', default: false },
    'database-url': { type: 'string' },
  },
});
const NOTES = Number(values.notes);
const QUERIES = Number(values.queries);
const DIMENSIONS = 256;

// A deterministic vocabulary with a Zipf-like spread, so some words are common and some rare.
let seed = 42;
const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
const VOCABULARY = Array.from({ length: 5_000 }, (_, i) => `w${i.toString(36)}${'aeiou'[i % 5]}x`);
const word = () => VOCABULARY[Math.floor(VOCABULARY.length * random() ** 2.5)]!;
const sentence = (n: number) => Array.from({ length: n }, word).join(' ');
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-bench-'));
const config = loadConfig({
  DATA_DIR: dataDir,
  LOG_LEVEL: 'silent',
  ...(values['database-url'] ? { DATABASE_URL: values['database-url'] } : {}),
});
const services = await openServices(config, createLogger('silent'));
try {
  const tables = liveTables(memoryNotesProjection);
  const started = performance.now();
  const users = ['bench-user', 'other-1', 'other-2', 'other-3'];
  for (let i = 0; i < NOTES; i += 1_000) {
    const statements: Statement[] = [];
    const embeddings: { userId: string; hash: string; vector: number[] }[] = [];
    for (let k = i; k < Math.min(NOTES, i + 1_000); k += 1) {
      const data = {
        noteId: `bench-${k}`,
        userId: users[k % 4]!,
        title: sentence(4),
        content: sentence(40),
        tags: [word()],
        at: new Date().toISOString(),
      };
      const event = {
        id: '',
        stream: '',
        revision: 0n,
        position: { commit: 0n, prepare: 0n },
        type: 'MemoryStored',
        data,
        metadata: {},
        createdAt: new Date(),
      } satisfies RecordedEvent;
      statements.push(...memoryNotesProjection.toStatements(event, tables));
      if (values.vector)
        embeddings.push({
          userId: data.userId,
          hash: contentHash(data.title, data.content),
          vector: normalize(Array.from({ length: DIMENSIONS }, () => random() - 0.5)),
        });
    }
    await services.db.transaction((tx) => applyStatements(tx, statements));
    if (values.vector) {
      await services.db.query(
        `INSERT INTO memory_embeddings (user_id, content_hash, model, vector) SELECT u, h, 'bench', v::float8[] FROM unnest($1::text[], $2::text[], $3::text[]) AS x(u, h, v) ON CONFLICT DO NOTHING`,
        [
          embeddings.map((e) => e.userId),
          embeddings.map((e) => e.hash),
          embeddings.map((e) => `{${e.vector.join(',')}}`),
        ],
      );
    }
  }
  await services.db.query('ANALYZE memory_notes');
  const loadSeconds = (performance.now() - started) / 1000;

  const measure = async (label: string, run: (query: string) => Promise<unknown>) => {
    for (let i = 0; i < 10; i += 1) await run(`${word()} ${word()}`); // warm-up
    const times: number[] = [];
    for (let i = 0; i < QUERIES; i += 1) {
      const query = i % 2 ? word() : `${word()} ${word()}`;
      const t = performance.now();
      await run(query);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    return { label, p50: percentile(times, 50), p95: percentile(times, 95), max: times.at(-1)! };
  };
  const store = services.tools.memory.store;
  const rows = [await measure('full-text (memory_search)', (q) => store.searchNotes('bench-user', q, { limit: 10 }))];
  if (values.vector) {
    const queryVector = normalize(Array.from({ length: DIMENSIONS }, () => random() - 0.5));
    rows.push(
      await measure('vector cosine scan (SQL, as memory_search)', () =>
        services.db.query(
          `SELECT n.id, ${cosineSql('$2')} AS cosine
         FROM memory_notes n JOIN memory_embeddings e ON e.user_id = n.user_id AND e.content_hash = n.content_hash AND e.model = 'bench' WHERE n.user_id = $1 ORDER BY cosine DESC LIMIT 30`,
          ['bench-user', queryVector],
        ),
      ),
    );
  }
  const database = services.db.embedded ? 'embedded PGlite' : 'PostgreSQL server';
  process.stdout.write(
    `\nmemory search, ${NOTES} notes (${NOTES / 4} for the searching user), ${QUERIES} queries, ${database}; loaded in ${loadSeconds.toFixed(1)} s\n\n`,
  );
  process.stdout.write(`| query | p50 ms | p95 ms | max ms |\n|---|---:|---:|---:|\n`);
  for (const r of rows)
    process.stdout.write(`| ${r.label} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} | ${r.max.toFixed(2)} |\n`);
} finally {
  await services.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
