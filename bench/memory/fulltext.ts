// Full-text memory search, before and after, interleaved in one run on the same rows: the previous
// statement (title and content of 3×limit rows, planned on every call) over GIN indexes with a pending list
// (fastupdate on, PostgreSQL's default), against the current one (ids and ranks, prepared) over indexes
// without one. Usage:
//   node --import tsx bench/memory/fulltext.ts [--notes 100000] [--queries 300] [--database-url postgres://…/scratch]
// Notes as bench/memory/vectors.ts makes them: one user, 1,000 topics, each query a topic's word (100 hits).
import { parseArgs } from 'node:util';
import os from 'node:os';
import { openDatabase, prepared, type Prepared } from '../../db/database.ts';
import { ddl, generationTables } from '../../projections/sql.ts';
import { memoryNotesProjection } from '../../projections/tools/memory.ts';

const { values } = parseArgs({
  options: {
    notes: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '300' },
    'database-url': { type: 'string' },
  },
});
const NOTES = Number(values.notes);
const QUERIES = Number(values.queries);
const url = values['database-url'];
const db = await openDatabase(url ? { kind: 'server', url, max: 2 } : { kind: 'embedded', dataDir: undefined });

const tablesOf = (generation: number, fastupdate: boolean) => {
  const tables = generationTables(memoryNotesProjection, generation);
  const statements = ddl(memoryNotesProjection, tables).map((sql) =>
    fastupdate ? sql.replaceAll('WITH (fastupdate = off)', '') : sql,
  );
  return { name: tables.memory_notes!, statements };
};
const before = tablesOf(Date.now() % 1_000_000, true);
const after = tablesOf((Date.now() % 1_000_000) + 1, false);
const loadStarted = performance.now();
for (const table of [before, after]) {
  for (const statement of table.statements) await db.query(statement);
  // Rows as the projection writes them, 1,000 per statement (as its batches), so the pending list grows as live.
  for (let first = 0; first < NOTES; first += 1_000)
    await db.query(
      `INSERT INTO ${table.name} (id, user_id, title, content, tags, content_hash, search, created_at, updated_at, revision)
       SELECT 'n' || n, 'bench-user', title, content, '{}', md5(content), setweight(to_tsvector('english', title), 'A')
              || setweight(to_tsvector('english', content), 'C'), 'epoch', 'epoch', 0
         FROM (SELECT n, 'topic' || (n * 7919 % 1000) || ' note ' || n AS title,
                      'topic' || (n * 7919 % 1000) || ' t' || (n * 7919 % 1000 % 97) || 'x t' || (n * 7919 % 1000 % 31)
                        || 'y filler' || (n % 1000) || ' text about t' || (n * 7919 % 1000 % 97) || 'x' AS content
                 FROM generate_series($1::int, $2::int) AS n) AS notes`,
      [first, Math.min(NOTES, first + 1_000) - 1],
    );
  await db.query(`ANALYZE ${table.name}`);
}
const loadSeconds = (performance.now() - loadStarted) / 1000;

const match = (table: string, order: string) => `FROM ${table}, websearch_to_tsquery('english', $2) AS q
  WHERE user_id = $1 AND search @@ q AND ($3::text[] IS NULL OR tags @> $3::text[]) ORDER BY ${order} LIMIT $4`;
const variants: { label: string; sql: string | Prepared; limit: number }[] = [
  {
    label: 'before: rows of 3×limit candidates, fastupdate on, planned per call',
    sql: `SELECT id, title, content, tags, updated_at, ts_rank_cd(search, q, 32) AS rank ${match(before.name, 'rank DESC, updated_at DESC')}`,
    limit: 30,
  },
  {
    label: 'after: ids and ranks of 3×limit candidates (hybrid), fastupdate off, prepared',
    sql: prepared(
      `SELECT id, updated_at, ts_rank_cd(search, q, 32) AS rank ${match(after.name, 'rank DESC, updated_at DESC, id')}`,
    ),
    limit: 30,
  },
  {
    label: 'after: rows of limit results (full text only), fastupdate off, prepared',
    sql: prepared(
      `SELECT id, title, content, tags, updated_at, ts_rank_cd(search, q, 32) AS rank ${match(after.name, 'rank DESC, updated_at DESC, id')}`,
    ),
    limit: 10,
  },
];
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
const samples = variants.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
for (let i = -10; i < QUERIES; i += 1) {
  const topic = (Math.abs(i) * 37) % 1000;
  // Interleaved: each query runs on every variant in turn, so the machine's load falls on all alike.
  for (const [v, variant] of variants.entries()) {
    const [t, c] = [performance.now(), cpuMs()];
    const rows = await db.query(variant.sql, ['bench-user', `topic${topic}`, null, variant.limit]);
    if (rows.rows.length !== variant.limit) throw new Error(`${variant.label}: ${rows.rows.length} rows`);
    if (i >= 0) {
      samples[v]!.wall.push(performance.now() - t);
      samples[v]!.cpu.push(cpuMs() - c);
    }
  }
}
for (const table of [before, after]) await db.query(`DROP TABLE ${table.name}`);
await db.close();

const pct = (list: number[], p: number) => [...list].sort((a, b) => a - b)[Math.floor((p / 100) * (list.length - 1))]!;
const out = (line: string) => process.stdout.write(`${line}\n`);
out(
  `\nmemory full-text search: ${NOTES} notes of one user, ${QUERIES} queries (100 matches each), ` +
    `${url ? 'PostgreSQL server' : 'embedded PGlite'}; rows loaded in ${loadSeconds.toFixed(1)} s; ` +
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
);
out('\n| statement | p50 ms | p95 ms | CPU p50 ms | CPU p95 ms | p95 vs before |\n|---|---:|---:|---:|---:|---:|');
const base = pct(samples[0]!.wall, 95);
variants.forEach((variant, v) => {
  const { wall, cpu } = samples[v]!;
  out(
    `| ${variant.label} | ${pct(wall, 50).toFixed(2)} | ${pct(wall, 95).toFixed(2)} | ${pct(cpu, 50).toFixed(2)} | ` +
      `${pct(cpu, 95).toFixed(2)} | ${(base / pct(wall, 95)).toFixed(2)}× |`,
  );
});
out('CPU: this process (PGlite runs inside it; on a server this is the client side only).');
