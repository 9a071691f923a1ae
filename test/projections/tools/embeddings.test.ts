// The embeddings cache keeps each user's vectors apart, and a cache shared by text hash (as written before)
// is brought to one row per user on start, keeping the vectors of texts some note still holds.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  cachedEmbeddings,
  createEmbeddingsCache,
  dropUserEmbeddings,
  saveEmbedding,
} from '../../../projections/tools/embeddings.queries.ts';
import { contentHash, memoryNotesProjection } from '../../../projections/tools/memory.ts';
import { applyStatements, ddl, liveTables } from '../../../projections/sql.ts';
import type { RecordedEvent } from '../../../eventstore/port.ts';
import { anyDatabase, type TestDatabase } from '../../support/databases.ts';

const test = suite<{ database: TestDatabase }>('projections: the memory embeddings cache, per user');
test.before(async (context) => {
  context.database = await anyDatabase();
});
test.after(async ({ database }) => database?.dispose());

const stored = (noteId: string, userId: string, content: string, revision = 0n): RecordedEvent => ({
  id: `${noteId}-${revision}`,
  stream: `memory-note-${noteId}`,
  revision,
  position: { commit: 1n, prepare: revision },
  type: 'MemoryStored',
  data: { noteId, userId, title: '', content, tags: [], at: new Date(0).toISOString() },
  metadata: {},
  createdAt: new Date(0),
});

test('a shared cache is split per user; an erasure drops only that user', async ({ database }) => {
  const { db } = database;
  const tables = liveTables(memoryNotesProjection);
  for (const statement of ddl(memoryNotesProjection, tables)) await db.query(statement);
  const events = [stored('n1', 'alice', 'buy milk'), stored('n2', 'bob', 'buy milk'), stored('n3', 'bob', 'tea')];
  await db.transaction((tx) =>
    applyStatements(
      tx,
      events.flatMap((event) => memoryNotesProjection.toStatements(event, tables)),
    ),
  );
  // The cache as an older version wrote it: one row per text, whoever stored it; one text no note holds.
  await db.query(`CREATE TABLE memory_embeddings (
    content_hash text NOT NULL, model text NOT NULL, vector float8[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (content_hash, model))`);
  const milk = contentHash('', 'buy milk');
  const tea = contentHash('', 'tea');
  const gone = contentHash('', 'a deleted note');
  for (const [hash, x] of [
    [milk, 1],
    [tea, 2],
    [gone, 3],
  ] as const)
    await db.query(`INSERT INTO memory_embeddings (content_hash, model, vector) VALUES ($1, 'm', $2::float8[])`, [
      hash,
      [x, 0],
    ]);

  await createEmbeddingsCache(db);
  await createEmbeddingsCache(db); // a second start changes nothing
  const rows = await db.query<{ user_id: string; content_hash: string; vector: number[] }>(
    'SELECT user_id, content_hash, vector FROM memory_embeddings ORDER BY user_id, vector[1]',
  );
  assert.equal(rows.rows, [
    { user_id: 'alice', content_hash: milk, vector: [1, 0] },
    { user_id: 'bob', content_hash: milk, vector: [1, 0] },
    { user_id: 'bob', content_hash: tea, vector: [2, 0] },
  ]);

  // A user sees their own vector only, even for a text another user stored too.
  await saveEmbedding(db, 'carol', tea, 'm', [0, 5]);
  const lookup = await cachedEmbeddings(db, 'm', [
    { userId: 'carol', hash: tea },
    { userId: 'carol', hash: milk },
  ]);
  assert.equal(lookup, [{ user_id: 'carol', content_hash: tea, vector: [0, 5] }]);

  assert.is(await dropUserEmbeddings(db, 'alice'), 1);
  const left = await db.query<{ user_id: string; content_hash: string }>(
    'SELECT user_id, content_hash FROM memory_embeddings ORDER BY user_id, content_hash',
  );
  assert.equal(
    left.rows,
    [
      { user_id: 'bob', content_hash: milk },
      { user_id: 'bob', content_hash: tea },
      { user_id: 'carol', content_hash: tea },
    ].sort((a, b) => (a.user_id + a.content_hash < b.user_id + b.content_hash ? -1 : 1)),
    "bob's copy of the same text stays",
  );
});

test.run();
