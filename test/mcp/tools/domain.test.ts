// Pure tests of the tools and memory deciders (given / when / then) and of the read models'
// idempotency (every event applied twice leaves the same rows).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { graphDecider, noteDecider, type GraphEvent, type NoteEvent } from '../../../domain/memory/index.ts';
import { toolSettingDecider } from '../../../domain/tools/index.ts';
import type { RecordedEvent } from '../../../eventstore/port.ts';
import { applyStatements, ddl, generationTables, type Projection } from '../../../projections/sql.ts';
import { memoryGraphProjection, memoryNotesProjection } from '../../../projections/tools/memory.ts';
import { toolCallsProjection, toolSettingsProjection } from '../../../projections/tools/settings.ts';
import { anyDatabase, type TestDatabase } from '../../support/databases.ts';
import { specFor } from '../../support/decider.ts';
import { globMatcher } from '../../../mcp/tools/fs/glob.ts';
import { applyEdits } from '../../../mcp/tools/fs/text.ts';
import { ToolError } from '../../../mcp/tools/define.ts';

const now = new Date('2026-01-02T03:04:05Z');
const at = now.toISOString();
const graph = specFor(graphDecider);
const notes = specFor(noteDecider);
const settings = specFor(toolSettingDecider);

const pure = suite('tools: deciders and pure helpers');

pure('tool settings: disable, idempotent repeat, unknown tool refused', () => {
  settings([])
    .when({ type: 'DisableTool', name: 'fs_write_file', known: true, reason: 'audit', now })
    .then([{ type: 'ToolDisabled', data: { name: 'fs_write_file', at, reason: 'audit' } }]);
  settings([{ type: 'ToolDisabled', data: { name: 'x', at } }])
    .when({ type: 'DisableTool', name: 'x', known: true, now })
    .then([]);
  settings([]).when({ type: 'EnableTool', name: 'x', known: true, now }).then([]);
  settings([]).when({ type: 'DisableTool', name: 'nope', known: false, now }).thenFails('unknown_tool');
});

const created: GraphEvent = {
  type: 'MemoryEntitiesCreated',
  data: {
    userId: 'u',
    entities: [
      { name: 'A', entityType: 't', observations: ['o1'] },
      { name: 'B', entityType: 't', observations: [] },
    ],
    at,
  },
};

pure('graph: duplicates skipped, relations need both ends, deleting cascades', () => {
  graph([created])
    .when({
      type: 'CreateEntities',
      userId: 'u',
      entities: [
        { name: 'A', entityType: 't', observations: [] },
        { name: 'C', entityType: 't', observations: ['x', 'x'] },
      ],
      now,
    })
    .then([
      {
        type: 'MemoryEntitiesCreated',
        data: { userId: 'u', entities: [{ name: 'C', entityType: 't', observations: ['x'] }], at },
      },
    ]);
  graph([created])
    .when({ type: 'CreateRelations', userId: 'u', relations: [{ from: 'A', to: 'Z', relationType: 'r' }], now })
    .thenFails('entity_not_found');
  graph([created])
    .when({ type: 'AddObservations', userId: 'u', additions: [{ entityName: 'A', contents: ['o1'] }], now })
    .then([]);
  const related: GraphEvent = {
    type: 'MemoryRelationsCreated',
    data: { userId: 'u', relations: [{ from: 'A', to: 'B', relationType: 'r' }], at },
  };
  graph([created, related])
    .when({ type: 'CreateRelations', userId: 'u', relations: [{ from: 'A', to: 'B', relationType: 'r' }], now })
    .then([]);
  const deleted: GraphEvent = { type: 'MemoryEntitiesDeleted', data: { userId: 'u', names: ['B'], at } };
  graph([created, related, deleted])
    .when({ type: 'DeleteRelations', userId: 'u', relations: [{ from: 'A', to: 'B', relationType: 'r' }], now })
    .then([]);
});

pure('graph: a MemoryGraphSnapshotted event stands for the history before it', () => {
  const history: GraphEvent[] = [
    created,
    { type: 'MemoryObservationsAdded', data: { userId: 'u', additions: [{ entityName: 'B', contents: ['b1'] }], at } },
    {
      type: 'MemoryRelationsCreated',
      data: { userId: 'u', relations: [{ from: 'A', to: 'B', relationType: 'r' }], at },
    },
    {
      type: 'MemoryObservationsDeleted',
      data: { userId: 'u', deletions: [{ entityName: 'A', observations: ['o1'] }], at },
    },
  ];
  const fold = (events: GraphEvent[]) => events.reduce(graphDecider.evolve, graphDecider.initialState());
  const snapshot = graphDecider.snapshot!.take(fold(history))!;
  assert.equal(snapshot, {
    type: 'MemoryGraphSnapshotted',
    data: {
      entities: [
        { name: 'A', entityType: 't', observations: [] },
        { name: 'B', entityType: 't', observations: ['b1'] },
      ],
      relations: [{ from: 'A', to: 'B', relationType: 'r' }],
    },
  });
  assert.equal(fold([snapshot]), fold(history));
  const commands = [
    { type: 'CreateRelations' as const, userId: 'u', relations: [{ from: 'A', to: 'B', relationType: 'r' }], now },
    { type: 'AddObservations' as const, userId: 'u', additions: [{ entityName: 'B', contents: ['b1', 'b2'] }], now },
    { type: 'DeleteEntities' as const, userId: 'u', names: ['A', 'Z'], now },
  ];
  for (const command of commands)
    graph([snapshot])
      .when(command)
      .then(graphDecider.decide(command, fold(history)));
});

pure("notes: only the owner may change a note; another user's note looks missing", () => {
  const stored: NoteEvent = {
    type: 'MemoryStored',
    data: { noteId: 'n', userId: 'u', title: '', content: 'c', tags: ['a'], at },
  };
  notes([])
    .when({ type: 'StoreNote', noteId: 'n', userId: 'u', title: '', content: 'c', tags: [' B', 'a', 'b'], now })
    .then([
      { type: 'MemoryStored', data: { noteId: 'n', userId: 'u', title: '', content: 'c', tags: ['a', 'b'], at } },
    ]);
  notes([stored])
    .when({ type: 'UpdateNote', noteId: 'n', userId: 'other', content: 'x', now })
    .thenFails('note_not_found');
  notes([stored]).when({ type: 'DeleteNote', noteId: 'n', userId: 'other', now }).thenFails('note_not_found');
  notes([stored]).when({ type: 'UpdateNote', noteId: 'n', userId: 'u', content: 'c', now }).then([]);
  notes([stored, { type: 'MemoryDeleted', data: { noteId: 'n', userId: 'u', at } }])
    .when({ type: 'UpdateNote', noteId: 'n', userId: 'u', content: 'x', now })
    .thenFails('note_not_found');
  notes([stored])
    .when({ type: 'StoreNote', noteId: 'n', userId: 'u', title: '', content: 'c', tags: [], now })
    .thenFails('note_exists');
});

pure('edits and globs', async () => {
  assert.is(await applyEdits('a\r\nb\r\n', [{ oldText: 'b\n', newText: 'c\n' }]), 'a\nc\n');
  const empty = await applyEdits('x', [{ oldText: '', newText: 'y' }]).catch((error: unknown) => error);
  assert.ok(empty instanceof ToolError && empty.code === 'edit_not_found');
  assert.ok(await globMatcher('**/*.ts')('a/b/c.ts'));
  assert.ok(await globMatcher('**/*.ts')('c.ts'));
  assert.ok(await globMatcher('*.md')('docs/readme.md'));
  assert.not.ok(await globMatcher('src/*.ts')('src/deep/x.ts'));
  assert.ok(await globMatcher('file-[0-9].{txt,log}')('file-3.log'));
  assert.not.ok(await globMatcher('a.b')('axb'));
});

pure.run();

// --- projections: applying every event twice gives the same rows as applying it once ---

type Ctx = { database: TestDatabase };
const projections = suite<Ctx>('tools: read models are idempotent');
projections.before(async (context) => {
  context.database = await anyDatabase();
});
projections.after(async ({ database }) => database.dispose());

let sequence = 0;
const recorded = (stream: string, revision: number, event: { type: string; data: unknown }): RecordedEvent => ({
  id: `00000000-0000-4000-8000-${String(++sequence).padStart(12, '0')}`,
  stream,
  revision: BigInt(revision),
  position: { commit: BigInt(sequence), prepare: BigInt(sequence) },
  type: event.type,
  data: event.data,
  metadata: { actor: { type: 'user', id: 'u' } },
  createdAt: now,
});

const onceAndTwice = async (
  database: TestDatabase,
  projection: Projection,
  events: RecordedEvent[],
  generation: number,
) => {
  const snapshot = async (twice: boolean) => {
    const tables = generationTables(projection, generation + (twice ? 1 : 0));
    for (const statement of ddl(projection, tables)) await database.db.query(statement);
    for (const event of events) {
      await applyStatements(database.db, projection.toStatements(event, tables));
      if (twice) await applyStatements(database.db, projection.toStatements(event, tables));
    }
    const rows: unknown[] = [];
    for (const table of Object.values(tables))
      rows.push(
        (await database.db.query(`SELECT * FROM ${table} ORDER BY 1, 2`)).rows.map((row) => JSON.stringify(row)),
      );
    return rows;
  };
  assert.equal(await snapshot(true), await snapshot(false));
};

projections('memory graph and notes, tool settings and tool calls', async ({ database }) => {
  const g = 'memory-graph-u';
  await onceAndTwice(
    database,
    memoryGraphProjection,
    [
      recorded(g, 0, created),
      recorded(g, 1, {
        type: 'MemoryRelationsCreated',
        data: { userId: 'u', relations: [{ from: 'A', to: 'B', relationType: 'r' }], at },
      }),
      recorded(g, 2, {
        type: 'MemoryObservationsAdded',
        data: { userId: 'u', additions: [{ entityName: 'A', contents: ['o2', 'o3'] }], at },
      }),
      recorded(g, 3, {
        type: 'MemoryObservationsDeleted',
        data: { userId: 'u', deletions: [{ entityName: 'A', observations: ['o2'] }], at },
      }),
      recorded(g, 4, { type: 'MemoryEntitiesDeleted', data: { userId: 'u', names: ['B'], at } }),
    ],
    9001,
  );
  await onceAndTwice(
    database,
    memoryNotesProjection,
    [
      recorded('memory-note-n', 0, {
        type: 'MemoryStored',
        data: { noteId: 'n', userId: 'u', title: 't', content: 'c', tags: ['a'], at },
      }),
      recorded('memory-note-n', 1, {
        type: 'MemoryUpdated',
        data: { noteId: 'n', userId: 'u', title: 't2', content: 'c2', tags: [], at },
      }),
      recorded('memory-note-m', 0, {
        type: 'MemoryStored',
        data: { noteId: 'm', userId: 'u', title: '', content: 'gone', tags: [], at },
      }),
      recorded('memory-note-m', 1, { type: 'MemoryDeleted', data: { noteId: 'm', userId: 'u', at } }),
    ],
    9003,
  );
  await onceAndTwice(
    database,
    toolSettingsProjection,
    [
      recorded('tool-x', 0, { type: 'ToolDisabled', data: { name: 'x', at, reason: 'r' } }),
      recorded('tool-x', 1, { type: 'ToolEnabled', data: { name: 'x', at } }),
    ],
    9005,
  );
  await onceAndTwice(
    database,
    toolCallsProjection,
    [
      recorded('audit-tools-u', 0, {
        type: 'ToolCalled',
        data: {
          callId: 'c',
          tool: 'x',
          userId: 'u',
          clientId: 'k',
          arguments: { a: 1 },
          outcome: 'ok',
          durationMs: 1.5,
          at,
        },
      }),
    ],
    9007,
  );
});

projections.run();
