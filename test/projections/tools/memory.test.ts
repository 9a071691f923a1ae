// memory_graph (set operations: insert-if-absent, union, delete) and memory_notes (upsert guarded by
// revision): the events applied twice, or resumed from any checkpoint, leave the same rows.
import * as assert from 'uvu/assert';
import { GraphEvent, NoteEvent, graphStream, noteStream } from '../../../domain/memory/index.ts';
import {
  contentHash,
  memoryGraphProjection,
  memoryNoteWritesProjection,
  memoryNotesProjection,
} from '../../../projections/tools/memory.ts';
import { ddl, generationTables } from '../../../projections/sql.ts';
import { applyTwice, projectionSuite, recorder } from '../../support/projections.ts';

const test = projectionSuite('projections: memory_graph and memory_notes');

test('memory_graph: every graph event applied twice leaves the same entities and relations', async ({ database }) => {
  const record = recorder(GraphEvent);
  const stream = graphStream('u1');
  const events = [
    record(stream, {
      type: 'MemoryEntitiesCreated',
      data: {
        userId: 'u1',
        entities: [
          { name: 'Ada', entityType: 'person', observations: ['writes programs'] },
          { name: 'Engine', entityType: 'machine', observations: [] },
          { name: 'Babbage', entityType: 'person', observations: ['designs engines'] },
        ],
        at: '2026-01-01T00:00:00.000Z',
      },
    }),
    record(stream, {
      type: 'MemoryRelationsCreated',
      data: {
        userId: 'u1',
        relations: [
          { from: 'Ada', to: 'Engine', relationType: 'programs' },
          { from: 'Babbage', to: 'Engine', relationType: 'designed' },
          { from: 'Ada', to: 'Babbage', relationType: 'corresponds with' },
        ],
        at: '2026-01-01T00:01:00.000Z',
      },
    }),
    record(stream, {
      type: 'MemoryObservationsAdded',
      data: {
        userId: 'u1',
        additions: [{ entityName: 'Ada', contents: ['likes poetry', 'writes programs', 'wrote notes'] }],
        at: '2026-01-01T00:02:00.000Z',
      },
    }),
    record(stream, {
      type: 'MemoryObservationsDeleted',
      data: {
        userId: 'u1',
        deletions: [{ entityName: 'Ada', observations: ['likes poetry'] }],
        at: '2026-01-01T00:03:00.000Z',
      },
    }),
    // Written beside a command's events to bound loads; it repeats what came before, so no rows change.
    record(stream, {
      type: 'MemoryGraphSnapshotted',
      data: {
        entities: [
          { name: 'Ada', entityType: 'person', observations: ['writes programs', 'wrote notes'] },
          { name: 'Engine', entityType: 'machine', observations: [] },
          { name: 'Babbage', entityType: 'person', observations: ['designs engines'] },
        ],
        relations: [
          { from: 'Ada', to: 'Engine', relationType: 'programs' },
          { from: 'Babbage', to: 'Engine', relationType: 'designed' },
          { from: 'Ada', to: 'Babbage', relationType: 'corresponds with' },
        ],
      },
    }),
    record(stream, {
      type: 'MemoryRelationsDeleted',
      data: {
        userId: 'u1',
        relations: [{ from: 'Ada', to: 'Babbage', relationType: 'corresponds with' }],
        at: '2026-01-01T00:04:00.000Z',
      },
    }),
    record(stream, {
      type: 'MemoryEntitiesDeleted',
      data: { userId: 'u1', names: ['Babbage'], at: '2026-01-01T00:05:00.000Z' },
    }),
    // A name deleted above comes back: a replay must not revive the old entity's observations.
    record(stream, {
      type: 'MemoryEntitiesCreated',
      data: {
        userId: 'u1',
        entities: [{ name: 'Babbage', entityType: 'cat', observations: ['sleeps'] }],
        at: '2026-01-01T00:06:00.000Z',
      },
    }),
  ];
  // Deletes leave no tombstone, so an old creation applied alone after them would bring rows back; the
  // runner never does that (a batch and its checkpoint commit together, in log order).
  const rows = await applyTwice(
    database.db,
    memoryGraphProjection,
    events,
    { memory_entities: 'user_id, name', memory_relations: 'user_id, from_name, to_name, relation_type' },
    { lateEvents: false },
  );
  assert.equal(
    rows.memory_entities!.map(({ name, entity_type, observations, updated_at }) => ({
      name,
      entity_type,
      observations,
      updated_at,
    })),
    [
      {
        name: 'Ada',
        entity_type: 'person',
        observations: ['writes programs', 'wrote notes'],
        updated_at: '2026-01-01T00:03:00.000Z',
      },
      { name: 'Babbage', entity_type: 'cat', observations: ['sleeps'], updated_at: '2026-01-01T00:06:00.000Z' },
      { name: 'Engine', entity_type: 'machine', observations: [], updated_at: '2026-01-01T00:00:00.000Z' },
    ],
  );
  assert.match(String(rows.memory_entities![0]!.search), /'ada':1A/);
  assert.equal(rows.memory_relations, [
    { user_id: 'u1', from_name: 'Ada', to_name: 'Engine', relation_type: 'programs' },
  ]);
});

test('memory_notes: stored, updated and deleted notes applied twice leave the same rows', async ({ database }) => {
  const record = recorder(NoteEvent);
  const events = [
    record(noteStream('n1'), {
      type: 'MemoryStored',
      data: {
        noteId: 'n1',
        userId: 'u1',
        title: 'Shopping',
        content: 'milk',
        tags: ['home'],
        at: '2026-01-01T00:00:00.000Z',
      },
    }),
    record(noteStream('n2'), {
      type: 'MemoryStored',
      data: { noteId: 'n2', userId: 'u1', title: '', content: 'scratch', tags: [], at: '2026-01-01T00:01:00.000Z' },
    }),
    record(noteStream('n1'), {
      type: 'MemoryUpdated',
      data: {
        noteId: 'n1',
        userId: 'u1',
        title: 'Shopping list',
        content: 'milk, bread',
        tags: ['home', 'weekly'],
        at: '2026-01-02T00:00:00.000Z',
      },
    }),
    record(noteStream('n2'), {
      type: 'MemoryDeleted',
      data: { noteId: 'n2', userId: 'u1', at: '2026-01-03T00:00:00.000Z' },
    }),
  ];
  // As for the graph: a deleted note leaves no tombstone, so no late lone events here.
  const rows = await applyTwice(
    database.db,
    memoryNotesProjection,
    events,
    { memory_notes: 'id' },
    { lateEvents: false },
  );
  assert.is(rows.memory_notes!.length, 1);
  const { search, ...note } = rows.memory_notes![0]!;
  assert.equal(note, {
    id: 'n1',
    user_id: 'u1',
    title: 'Shopping list',
    content: 'milk, bread',
    tags: ['home', 'weekly'],
    content_hash: contentHash('Shopping list', 'milk, bread'),
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-02T00:00:00.000Z',
    revision: '1',
  });
  assert.match(String(search), /'bread':\d+/);
});

test('memory_notes: its GIN indexes keep no pending list, so a search never reads unmerged rows', async ({
  database,
}) => {
  const tables = generationTables(memoryNotesProjection, 9_101);
  for (const statement of ddl(memoryNotesProjection, tables)) await database.db.query(statement);
  const indexes = await database.db.query<{ name: string; options: string[] | null }>(
    `SELECT c.relname AS name, c.reloptions AS options FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
      WHERE i.indrelid = $1::regclass AND a.amname = 'gin' ORDER BY 1`,
    [tables.memory_notes],
  );
  assert.equal(
    indexes.rows.map((row) => [row.name.replace(tables.memory_notes!, 'memory_notes'), row.options]),
    [
      ['memory_notes_search', ['fastupdate=off']],
      ['memory_notes_tags', ['fastupdate=off']],
    ],
  );
});

test('memory_note_writes: each user keeps the position of their last note event, applied twice or late', async ({
  database,
}) => {
  const record = recorder(NoteEvent);
  const stored = (noteId: string, userId: string) =>
    record(noteStream(noteId), {
      type: 'MemoryStored',
      data: { noteId, userId, title: '', content: noteId, tags: [], at: '2026-01-01T00:00:00.000Z' },
    });
  const events = [
    stored('n1', 'u1'),
    stored('n2', 'u2'),
    stored('n3', 'u1'),
    record(noteStream('n1'), {
      type: 'MemoryDeleted',
      data: { noteId: 'n1', userId: 'u1', at: '2026-01-02T00:00:00.000Z' },
    }),
  ];
  const rows = await applyTwice(database.db, memoryNoteWritesProjection, events, { memory_note_writes: 'user_id' });
  assert.equal(rows.memory_note_writes, [
    { user_id: 'u1', position_commit: '4', position_prepare: '4' },
    { user_id: 'u2', position_commit: '2', position_prepare: '2' },
  ]);
});

test.run();
