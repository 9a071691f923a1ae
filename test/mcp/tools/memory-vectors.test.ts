import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../../app/logger.ts';
import type { SubscribeOptions } from '../../../eventstore/port.ts';
import type { Prepared, Queryable } from '../../../db/database.ts';
import { normalize } from '../../../mcp/tools/memory/embeddings.ts';
import { MemoryVectorIndex } from '../../../mcp/tools/memory/vectors/vector-index.ts';
import { UserVectors } from '../../../mcp/tools/memory/vectors/user-vectors.ts';
import { detectPgvector } from '../../../mcp/tools/memory/vectors/pgvector.ts';
import { createServerDatabase, serverUrl } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { skipSuite } from '../../support/skip.ts';
import { startEmbeddingsStub, stubVector, type EmbeddingsStub } from './embeddings-stub.ts';
import { caller, connectHttp, serveWithStandInTokens, structured, type Connected } from './support.ts';

type Note = { id: string; title: string; content: string };
type Hit = Note & { score: number; match: string };
const EMBEDDINGS = (stub: EmbeddingsStub) => ({
  OPENAI_API_KEY: 'sk-test-stub',
  OPENAI_BASE_URL: stub.url,
  EMBEDDING_MODEL: 'stub-embed-16',
});
const WORDS = ['cat', 'kitten', 'dog', 'puppy', 'car', 'sedan', 'rain', 'storm', 'garden', 'tea', 'lamp', 'river'];
/** Deterministic notes over the stub's concepts, so neighbours are meaningful and many scores tie. */
const noteText = (i: number) => `${WORDS[i % WORDS.length]} ${WORDS[(i * 7 + 3) % WORDS.length]} note ${i}`;
const QUERIES = ['kitten', 'puppy near the river', 'storm', 'sedan', 'tea lamp'];
const unit = (text: string) => normalize(stubVector(text));
const silent = createLogger('silent');

// --- the index over a real log: rebuild, restart from disk, per-user isolation ---

type Context = { server: TestServer; stub: EmbeddingsStub; alice: string[]; bob: string[]; dirs: string[] };
const test = suite<Context>('memory vector index: a read model of the log and the embeddings cache');

test.before(async (context) => {
  context.stub = await startEmbeddingsStub();
  context.server = await startTestServer(EMBEDDINGS(context.stub));
  context.dirs = [];
  const store = context.server.services.tools.memory.store;
  context.alice = [];
  context.bob = [];
  for (let i = 0; i < 60; i += 1)
    context.alice.push((await store.storeNote('alice', { title: '', content: noteText(i), tags: [] })).id);
  for (let i = 0; i < 20; i += 1)
    context.bob.push((await store.storeNote('bob', { title: '', content: noteText(i + 100), tags: [] })).id);
  // Changes after the first store: a new text, a retag, a deletion.
  await store.updateNote('alice', context.alice[0]!, { content: 'storm over the river' });
  await store.updateNote('alice', context.alice[1]!, { tags: ['kept'] });
  await store.deleteNote('alice', context.alice[2]!);
});
test.after(async ({ server, stub, dirs }) => {
  await server.stop();
  await stub.close();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** annThreshold 0 puts every user's vectors in graphs; segments of 16 slots make several per user. */
const ANN = { annThreshold: 0, minCandidates: 8, oversample: 2, segmentSlots: 16 };
/** A fresh index over the server's log and cache. */
const freshIndex = async (context: Context, dir?: string) => {
  const index = new MemoryVectorIndex(context.server.services.db, context.server.services.log, silent, {
    model: 'stub-embed-16',
    dir,
    ann: ANN,
  });
  await index.start();
  await index.catchUp('alice');
  await index.catchUp('bob');
  return index;
};
const answers = async (index: MemoryVectorIndex, userId: string) => {
  const all = [];
  for (const query of QUERIES) all.push(await index.search(userId, unit(query), 10));
  return all;
};

test('the live index, one rebuilt from the log and one restarted from disk answer identically', async (context) => {
  const live = context.server.services.tools.memory.store.vectors!;
  const expected = await answers(live, 'alice');
  assert.ok(expected.every((hits) => hits.length === 10));
  assert.ok(!expected.flat().some((hit) => hit.noteId === context.alice[2]), 'a deleted note is gone');

  const rebuilt = await freshIndex(context);
  assert.equal(await answers(rebuilt, 'alice'), expected);
  assert.equal(await answers(rebuilt, 'bob'), await answers(live, 'bob'));
  assert.equal(rebuilt.stats().vectors, 59 + 20);
  assert.equal(rebuilt.stats().pending, 0);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-vectors-'));
  context.dirs.push(dir);
  await rebuilt.close();
  const saver = await freshIndex(context, dir);
  const savedAt = saver.stats().position;
  await saver.close();
  assert.ok(fs.existsSync(path.join(dir, 'current')));
  const restarted = await freshIndex(context, dir);
  // It starts where the snapshot ends (not from the first event), then answers as the others do.
  assert.equal(restarted.restoredFrom, savedAt);
  assert.ok(restarted.userVectors('alice')!.graphs!.length > 1, 'several segment graphs were saved and loaded');
  assert.equal(await answers(restarted, 'alice'), expected);
  await restarted.close();
});

test('a search waits until the index has read the last write, however late its events arrive', async (context) => {
  const { db, log } = context.server.services;
  // The log as a slow instance sees it: every batch reaches the index 300 ms late.
  const late = new Proxy(log, {
    get(target, property, receiver) {
      if (property !== 'subscribeAll') return Reflect.get(target, property, receiver);
      return (options: SubscribeOptions) =>
        target.subscribeAll({
          ...options,
          onEvents: async (events) => {
            await new Promise((resolve) => setTimeout(resolve, 300));
            await options.onEvents(events);
          },
        });
    },
  });
  const index = new MemoryVectorIndex(db, late, silent, { model: 'stub-embed-16', dir: undefined });
  await index.start();
  await index.catchUp('erin');
  const store = context.server.services.tools.memory.store;
  const note = await store.storeNote('erin', { title: '', content: 'a hound in the rain', tags: [] });
  assert.equal(
    (await index.search('erin', unit('canine'), 5)).map((hit) => hit.noteId),
    [note.id],
  );
  await index.close();
});

test('a failed lookup stops the index for a second, then it resumes where it was', async (context) => {
  const { db, log } = context.server.services;
  let failures = 0;
  const flaky = new Proxy(db, {
    get(target, property, receiver) {
      if (property !== 'query') return Reflect.get(target, property, receiver);
      return (sql: string | Prepared, params?: unknown[]) => {
        if ((typeof sql === 'string' ? sql : sql.text).includes('memory_embeddings') && failures === 0) {
          failures += 1;
          return Promise.reject(new Error('connection terminated'));
        }
        return target.query(sql, params);
      };
    },
  });
  const index = new MemoryVectorIndex(flaky, log, silent, { model: 'stub-embed-16', dir: undefined });
  await index.start();
  let error: unknown;
  try {
    await index.catchUp('alice');
  } catch (thrown) {
    error = thrown;
  }
  assert.match(String(error), /memory vector index has stopped: connection terminated/);
  assert.is(failures, 1);
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const live = context.server.services.tools.memory.store.vectors!;
  assert.equal(await index.search('alice', unit('kitten'), 10), await live.search('alice', unit('kitten'), 10));
  await index.close();
});

test("an erased user's vectors leave the index and its saved snapshot at once", async (context) => {
  const { log } = context.server.services;
  const store = context.server.services.tools.memory.store;
  await store.storeNote('frank', { title: '', content: 'a puppy and a kitten', tags: [] });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-vectors-'));
  context.dirs.push(dir);
  const index = await freshIndex(context, dir);
  await index.catchUp('frank');
  assert.is((await index.search('frank', unit('kitten'), 5)).length, 1);
  const saved = () => {
    const manifest = path.join(dir, fs.readFileSync(path.join(dir, 'current'), 'utf8'), 'manifest.json');
    return (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { users: { userId: string }[] }).users.map(
      (u) => u.userId,
    );
  };
  await index.save();
  assert.ok(saved().includes('frank'));
  const erased = await log.append('user-erasure-probe-frank', [
    { type: 'UserErased', data: { userId: 'frank', keySubjects: [], at: new Date().toISOString() } },
  ]);
  await index.waitFor(erased.position);
  assert.equal(await index.search('frank', unit('kitten'), 5), []);
  assert.ok(saved().includes('alice'));
  assert.not.ok(saved().includes('frank'), 'the snapshot on disk no longer holds them');
  await index.close();
});

test('the graph with exact re-ranking gives the exact top 10 here, scores included', async (context) => {
  const live = context.server.services.tools.memory.store.vectors!;
  for (const query of QUERIES) {
    const graph = await live.search('alice', unit(query), 10);
    const exact = live.userVectors('alice')!.exact(Float32Array.from(unit(query)), 10);
    assert.equal(graph, exact, query);
  }
});

test("user B's index holds only B's notes; B's search never returns A's", async (context) => {
  const live = context.server.services.tools.memory.store.vectors!;
  const bobIndex = live.userVectors('bob')!;
  assert.equal([...bobIndex.slots.keys()].sort(), [...context.bob].sort());
  // Alice's exact text as the query: Bob gets his own notes only.
  const hits = await live.search('bob', unit(noteText(5)), 100);
  assert.is(hits.length, 20);
  assert.ok(hits.every((hit) => context.bob.includes(hit.noteId)));
  assert.equal(await live.search('mallory', unit('kitten'), 10), []);
});

test('a snapshot of another log (a new database) is not used', async (context) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-vectors-'));
  context.dirs.push(dir);
  const saver = await freshIndex(context, dir);
  await saver.close();
  const manifestDir = path.join(dir, fs.readFileSync(path.join(dir, 'current'), 'utf8'));
  const manifest = JSON.parse(fs.readFileSync(path.join(manifestDir, 'manifest.json'), 'utf8')) as { logId: string };
  manifest.logId = 'another-log';
  fs.writeFileSync(path.join(manifestDir, 'manifest.json'), JSON.stringify(manifest));
  const index = new MemoryVectorIndex(context.server.services.db, context.server.services.log, silent, {
    model: 'stub-embed-16',
    dir,
    ann: ANN,
  });
  await index.start();
  assert.is(index.restoredFrom, undefined);
  await index.search('alice', unit('kitten'), 1);
  const notes = (stats: { vectors: number; pending: number }) => stats.vectors + stats.pending;
  assert.is(notes(index.stats()), notes(context.server.services.tools.memory.store.vectors!.stats()));
  await index.close();
});

test('a snapshot of the previous version (other graph parameters) is rebuilt, then answers alike', async (context) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-vectors-'));
  context.dirs.push(dir);
  const saver = await freshIndex(context, dir);
  await saver.close();
  const manifestFile = path.join(dir, fs.readFileSync(path.join(dir, 'current'), 'utf8'), 'manifest.json');
  const current = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Record<string, unknown>;
  // Format 1, as the previous version wrote it: no graph parameters (its graphs were M 16, beam 64).
  const { graph, ...previous } = current;
  assert.ok(graph, 'format 2 records the graph parameters');
  fs.writeFileSync(manifestFile, JSON.stringify({ ...previous, format: 1 }));
  const upgraded = await freshIndex(context, dir);
  assert.is(upgraded.restoredFrom, undefined, 'rebuilt from the log, not loaded');
  assert.equal(
    await answers(upgraded, 'alice'),
    await answers(context.server.services.tools.memory.store.vectors!, 'alice'),
  );
  await upgraded.close();
  // Its next snapshot is the current format, and loads.
  const restarted = await freshIndex(context, dir);
  assert.ok(restarted.restoredFrom, 'the rewritten snapshot loads');
  await restarted.close();
});

test('pgvector is detected only where the extension is installed; here it is not', async (context) => {
  assert.is(await detectPgvector(context.server.services.db), undefined);
  assert.is(context.server.services.tools.memory.store.backend, 'index');
  const withVector = { query: async () => ({ rows: [{ extversion: '0.8.0' }] }) } as unknown as Queryable;
  assert.is(await detectPgvector(withVector), '0.8.0');
});

test.run();

// --- graph search against exact search on clustered data ---

const graphs = suite('memory vector index: HNSW candidates re-ranked exactly');

graphs('clustered vectors: the graph finds the exact top 10 for at least 95% of results', () => {
  let seed = 7;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31 - 0.5;
  const dims = 64;
  const centres = Array.from({ length: 20 }, () => Array.from({ length: dims }, random));
  const vectors = new UserVectors(dims, { annThreshold: 100, oversample: 4, minCandidates: 40 });
  for (let i = 0; i < 3_000; i += 1) {
    const centre = centres[i % centres.length]!;
    vectors.put(`n${i}`, Float32Array.from(normalize(centre.map((x) => x + random() * 0.6))), [], `h${i}`);
  }
  assert.is(vectors.graphs?.length, 1, 'past the threshold the user has a graph');
  let found = 0;
  for (let q = 0; q < 50; q += 1) {
    const query = Float32Array.from(normalize(centres[q % centres.length]!.map((x) => x + random() * 0.6)));
    const exact = new Set(vectors.exact(query, 10).map((h) => h.noteId));
    found += vectors.search(query, 10).filter((h) => exact.has(h.noteId)).length;
  }
  assert.ok(found / 500 >= 0.95, `recall@10 ${found / 500}`);
});

graphs('pages put deferred and flushed as one batch each: every live vector in its segment, no other', () => {
  let seed = 11;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31 - 0.5;
  const dims = 32;
  const centres = Array.from({ length: 10 }, () => Array.from({ length: dims }, random));
  const point = (i: number) =>
    Float32Array.from(normalize(centres[i % centres.length]!.map((x) => x + random() * 0.6)));
  // Segments of 700 slots: pages straddle them, so a flush adds to two graphs.
  const vectors = new UserVectors(dims, { annThreshold: 100, oversample: 4, minCandidates: 40, segmentSlots: 700 });
  for (let page = 0; page < 6; page += 1) {
    for (let i = page * 500; i < (page + 1) * 500; i += 1) vectors.put(`n${i}`, point(i), [], `h${i}`, true);
    // Within the page, before its flush: one note replaced, one removed, one put then removed.
    vectors.put(`n${page * 500 + 1}`, point(page), [], `r${page}`, true);
    vectors.remove(`n${page * 500 + 2}`);
    if (page > 0) vectors.remove(`n${page * 500 - 3}`);
    vectors.flush();
  }
  const live = [...vectors.slots.values()];
  const empty = vectors.slotNotes.flatMap((noteId, slot) => (noteId ? [] : [slot]));
  assert.is(live.length, 3_000 - 6 - 5);
  const graphs = vectors.graphs!;
  assert.is(graphs.length, Math.ceil(vectors.slotNotes.length / 700));
  assert.is(
    graphs.reduce((sum, graph) => sum + graph.size(), 0),
    live.length,
  );
  const segment = (slot: number) => graphs[Math.floor(slot / 700)]!;
  assert.ok(
    live.every((slot) => segment(slot).contains(BigInt(slot))),
    'every live slot is in its segment',
  );
  assert.not.ok(
    empty.some((slot) => graphs.some((graph) => graph.contains(BigInt(slot)))),
    'no emptied slot is in any',
  );
  let found = 0;
  for (let q = 0; q < 50; q += 1) {
    const query = point(q);
    const exact = new Set(vectors.exact(query, 10).map((h) => h.noteId));
    found += vectors.search(query, 10).filter((h) => exact.has(h.noteId)).length;
  }
  assert.ok(found / 500 >= 0.95, `recall@10 ${found / 500}`);
});

graphs('a replaced vector and a removed note leave the graph', () => {
  const vectors = new UserVectors(2, { annThreshold: 0, oversample: 4, minCandidates: 10 });
  vectors.put('a', Float32Array.of(1, 0), ['x'], 'h1');
  vectors.put('b', Float32Array.of(0, 1), [], 'h2');
  vectors.put('a', Float32Array.of(0, -1), ['x'], 'h3');
  // Both are orthogonal to the query: equal scores, so by note id.
  assert.equal(
    vectors.search(Float32Array.of(1, 0), 5).map((h) => h.noteId),
    ['a', 'b'],
  );
  assert.ok(vectors.retag('a', 'h3', ['y']));
  assert.not.ok(vectors.retag('a', 'h1', ['z']), 'another text is not a retag');
  assert.equal(
    vectors.search(Float32Array.of(0, -1), 5, ['y']).map((h) => h.noteId),
    ['a'],
  );
  vectors.remove('a');
  assert.equal(
    vectors.search(Float32Array.of(0, -1), 5).map((h) => h.noteId),
    ['b'],
  );
  assert.is(vectors.graphs?.[0]?.size(), 1);
});

graphs.run();

// --- two instances on one PostgreSQL database ---

type Pair = {
  a: TestServer;
  b: TestServer;
  stub: EmbeddingsStub;
  onA: Connected;
  onB: Connected;
  drop(): Promise<void>;
};
const pair = suite<Pair>('memory vector index: two instances, one database');
const search = async (who: Connected, query: string) =>
  structured<{ mode: string; results: Hit[] }>(await who.call('memory_search', { query, limit: 20 }));

if (!serverUrl()) {
  skipSuite('memory vector index: two instances, one database', 'TEST_DATABASE_URL not set', 1);
} else {
  pair.before(async (context) => {
    context.stub = await startEmbeddingsStub();
    const database = await createServerDatabase();
    context.drop = database.drop;
    context.a = await startTestServer(EMBEDDINGS(context.stub), { database });
    context.b = await startTestServer(EMBEDDINGS(context.stub), { database });
    context.onA = await connectHttp(context.a, await serveWithStandInTokens(context.a), caller('dora'));
    context.onB = await connectHttp(context.b, await serveWithStandInTokens(context.b), caller('dora'));
  });
  pair.after(async (context) => {
    await context.onA.close();
    await context.onB.close();
    await context.b.stop();
    await context.a.stop();
    await context.drop();
    await context.stub.close();
  });

  pair('a note stored on A is found by meaning on B at once, and both rank alike', async (context) => {
    for (let i = 0; i < 12; i += 1) await context.onA.call('memory_store', { content: noteText(i) });
    // Each write is searched for on the other instance right after its call returns.
    const onA = structured<Note>(await context.onA.call('memory_store', { content: 'a tabby sleeps', title: 'Pet' }));
    const fromB = await search(context.onB, 'feline');
    assert.is(fromB.mode, 'hybrid');
    assert.ok(
      fromB.results.some((r) => r.id === onA.id && r.match === 'vector'),
      'found on B by meaning only',
    );
    const onB = structured<Note>(await context.onB.call('memory_store', { content: 'heavy drizzle again' }));
    assert.ok((await search(context.onA, 'weather')).results.some((r) => r.id === onB.id));
    for (const query of ['feline', 'weather', 'canine by the river']) {
      const [a, b] = [await search(context.onA, query), await search(context.onB, query)];
      assert.equal(
        a.results.map((r) => [r.id, r.score, r.match]),
        b.results.map((r) => [r.id, r.score, r.match]),
        query,
      );
    }
    assert.is(context.a.services.tools.memory.store.vectors!.stats().vectors, 14);
    assert.is(context.b.services.tools.memory.store.vectors!.stats().vectors, 14);
    assert.is(context.a.services.tools.memory.store.fallbacks + context.b.services.tools.memory.store.fallbacks, 0);
  });

  pair.run();
}

// --- pgvector, where the server has the extension ---

const withPgvector = suite<{ server: TestServer; stub: EmbeddingsStub; drop(): Promise<void> }>(
  'memory vector search: pgvector answers as the in-process index does',
);
const pgvectorAvailable = async (): Promise<boolean> => {
  const url = serverUrl();
  if (!url) return false;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const rows = await client.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`);
    return rows.rows.length > 0;
  } finally {
    await client.end();
  }
};

if (!(await pgvectorAvailable())) {
  skipSuite(
    'memory vector search: pgvector answers as the in-process index does',
    serverUrl()
      ? 'the PostgreSQL server has no pgvector (pg_available_extensions lists no "vector")'
      : 'TEST_DATABASE_URL not set',
    1,
  );
} else {
  withPgvector.before(async (context) => {
    context.stub = await startEmbeddingsStub();
    const database = await createServerDatabase();
    context.drop = database.drop;
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await client.query('CREATE EXTENSION vector');
    await client.end();
    context.server = await startTestServer(EMBEDDINGS(context.stub), { database });
  });
  withPgvector.after(async (context) => {
    await context.server.stop();
    await context.drop();
    await context.stub.close();
  });

  withPgvector('the HNSW expression index answers, ranked as the exact in-process index ranks', async (context) => {
    const { db, log } = context.server.services;
    const store = context.server.services.tools.memory.store;
    for (let i = 0; i < 30; i += 1) await store.storeNote('pia', { title: '', content: noteText(i), tags: [] });
    await store.vectorsStarted();
    assert.is(store.backend, 'pgvector');
    const index = new MemoryVectorIndex(db, log, silent, { model: 'stub-embed-16', dir: undefined });
    await index.start();
    // Words no note contains: the hybrid ranking is the vector ranking alone.
    for (const query of ['feline', 'canine', 'weather']) {
      const found = await store.searchWith('pia', query, stubVector(query), { limit: 10 });
      assert.ok(found.results.every((hit) => hit.match === 'vector'));
      assert.equal(
        found.results.map((hit) => hit.id),
        (await index.search('pia', unit(query), 10)).map((hit) => hit.noteId),
        query,
      );
    }
    const indexes = await db.query(`SELECT 1 FROM pg_indexes WHERE indexname = 'memory_embeddings_hnsw_16'`);
    assert.is(indexes.rows.length, 1);
    assert.is(store.fallbacks, 0);
    await index.close();
  });

  withPgvector.run();
}
