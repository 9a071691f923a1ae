import { z } from 'zod';

const Entity = z.object({ name: z.string(), entityType: z.string(), observations: z.array(z.string()) });
const Relation = z.object({ from: z.string(), to: z.string(), relationType: z.string() });
export type Entity = z.infer<typeof Entity>;
export type Relation = z.infer<typeof Relation>;

/** The knowledge graph of one user (stream `memory-graph-<userId>`), as in the reference memory MCP server. */
export const GraphEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('MemoryEntitiesCreated'),
    data: z.object({ userId: z.string(), entities: z.array(Entity), at: z.string() }),
  }),
  z.object({
    type: z.literal('MemoryObservationsAdded'),
    data: z.object({
      userId: z.string(),
      additions: z.array(z.object({ entityName: z.string(), contents: z.array(z.string()) })),
      at: z.string(),
    }),
  }),
  z.object({
    type: z.literal('MemoryEntitiesDeleted'),
    data: z.object({ userId: z.string(), names: z.array(z.string()), at: z.string() }),
  }),
  z.object({
    type: z.literal('MemoryObservationsDeleted'),
    data: z.object({
      userId: z.string(),
      deletions: z.array(z.object({ entityName: z.string(), observations: z.array(z.string()) })),
      at: z.string(),
    }),
  }),
  z.object({
    type: z.literal('MemoryRelationsCreated'),
    data: z.object({ userId: z.string(), relations: z.array(Relation), at: z.string() }),
  }),
  z.object({
    type: z.literal('MemoryRelationsDeleted'),
    data: z.object({ userId: z.string(), relations: z.array(Relation), at: z.string() }),
  }),
  // The whole graph as of this point (app/handle.ts writes it beside a command's events every
  // GRAPH_SNAPSHOT_EVERY events): a write folds from here, not from the user's first memory.
  z.object({
    type: z.literal('MemoryGraphSnapshotted'),
    data: z.object({ entities: z.array(Entity), relations: z.array(Relation) }),
  }),
]);
export type GraphEvent = z.infer<typeof GraphEvent>;

// Stored and updated both carry the whole note, so one schema reads both.
const NoteWritten = z.object({
  noteId: z.string(),
  userId: z.string(),
  title: z.string(),
  content: z.string(),
  tags: z.array(z.string()),
  at: z.string(),
});

/** A free-form note with tags (stream `memory-note-<noteId>`). */
export const NoteEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('MemoryStored'), data: NoteWritten }),
  z.object({ type: z.literal('MemoryUpdated'), data: NoteWritten }),
  z.object({
    type: z.literal('MemoryDeleted'),
    data: z.object({ noteId: z.string(), userId: z.string(), at: z.string() }),
  }),
]);
export type NoteEvent = z.infer<typeof NoteEvent>;
