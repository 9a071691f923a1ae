// The memory tools: a knowledge graph (as the reference memory MCP server) and free-form notes with tags.
// Every tool works on the caller's own memory only (the user id comes from the access token, never from arguments).
import { z } from 'zod';
import { MCP_READ, MCP_WRITE } from '../../../domain/scopes.ts';
import { defineTool, refusingUnstorableText, ToolError, type Tool } from '../define.ts';
import type { MemoryStore } from './store.ts';

const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
const ADD = { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false };
const REMOVE = { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false };

const Name = z.string().min(1).max(200);
const Observation = z.string().min(1).max(10_000);
const Entity = z.object({
  name: Name.describe('Unique name of the entity, e.g. "Ada Lovelace"'),
  entityType: Name.describe('Kind of entity, e.g. person, project, place'),
  observations: z.array(Observation).max(100).default([]).describe('Facts about the entity'),
});
const Relation = z.object({
  from: Name.describe('Name of the entity the relation starts at'),
  to: Name.describe('Name of the entity it points to'),
  relationType: Name.describe('In active voice, e.g. works_at'),
});
const Graph = z.object({
  entities: z.array(z.object({ name: z.string(), entityType: z.string(), observations: z.array(z.string()) })),
  relations: z.array(Relation),
});
const Note = z.object({
  id: z.string(),
  title: z.string(),
  content: z.string(),
  tags: z.array(z.string()),
  updatedAt: z.string(),
});
const Tags = z.array(z.string().min(1).max(50)).max(20);
const NoteId = z.string().min(1).max(100).describe('The id returned by memory_store');

const text = (value: string) => [{ type: 'text' as const, text: value }];
const graphText = (g: z.infer<typeof Graph>) =>
  text(g.entities.length === 0 ? 'No entities' : JSON.stringify(g, null, 2));

const declaredTools = (store: MemoryStore): Tool[] => [
  defineTool({
    name: 'memory_store',
    title: 'Remember a note',
    scope: MCP_WRITE,
    annotations: { ...ADD, idempotentHint: false },
    description:
      'Stores a free-form note (with optional title and tags) in your memory. It is searchable as soon as this call returns.',
    input: z.object({
      content: z.string().min(1).max(100_000).describe('What to remember'),
      title: z.string().max(200).default(''),
      tags: Tags.default([]).describe('Lower-cased labels for filtering'),
    }),
    output: Note,
    run: (args, { caller }) => store.storeNote(caller.userId, args),
    render: (n) => text(`Stored note ${n.id}${n.tags.length ? ` [${n.tags.join(', ')}]` : ''}`),
  }),
  defineTool({
    name: 'memory_update',
    title: 'Change a note',
    scope: MCP_WRITE,
    annotations: ADD,
    description: 'Changes the content, title or tags of one of your notes.',
    input: z.object({
      id: NoteId,
      content: z.string().min(1).max(100_000).optional(),
      title: z.string().max(200).optional(),
      tags: Tags.optional(),
    }),
    output: Note,
    run: ({ id, content, title, tags }, { caller }) =>
      store.updateNote(caller.userId, id, {
        ...(content !== undefined ? { content } : {}),
        ...(title !== undefined ? { title } : {}),
        ...(tags ? { tags } : {}),
      }),
  }),
  defineTool({
    name: 'memory_delete',
    title: 'Forget a note',
    scope: MCP_WRITE,
    annotations: REMOVE,
    description: 'Deletes one of your notes.',
    input: z.object({ id: NoteId }),
    output: z.object({ id: z.string(), deleted: z.boolean() }),
    run: async ({ id }, { caller }) => {
      await store.deleteNote(caller.userId, id);
      return { id, deleted: true };
    },
  }),
  defineTool({
    name: 'memory_search',
    title: 'Search notes',
    scope: MCP_READ,
    annotations: READ,
    description:
      'Searches your notes by meaning and words (full-text ranking; hybrid with embeddings when the server has them). Supports "quoted phrases", OR and -exclusions.',
    input: z.object({
      query: z.string().min(1).max(1_000),
      tags: Tags.optional().describe('Only notes with all these tags'),
      limit: z.number().int().min(1).max(100).default(10),
    }),
    output: z.object({
      mode: z.enum(['fulltext', 'hybrid']),
      results: z.array(Note.extend({ score: z.number(), match: z.enum(['text', 'vector', 'both']) })),
    }),
    run: ({ query, tags, limit }, { caller }) => store.searchNotes(caller.userId, query, { tags, limit }),
    render: (r) =>
      text(
        r.results.length
          ? r.results
              .map((n, i) => `${i + 1}. [${n.id}] ${n.title || n.content.slice(0, 80)} (score ${n.score})`)
              .join('\n')
          : 'No matching notes',
      ),
  }),
  defineTool({
    name: 'memory_list',
    title: 'Recent notes',
    scope: MCP_READ,
    annotations: READ,
    description: 'Lists your most recently changed notes, optionally only those with all given tags.',
    input: z.object({ tags: Tags.optional(), limit: z.number().int().min(1).max(200).default(20) }),
    output: z.object({ notes: z.array(Note) }),
    run: async ({ tags, limit }, { caller }) => ({ notes: await store.listNotes(caller.userId, { tags, limit }) }),
  }),
  defineTool({
    name: 'memory_create_entities',
    title: 'Create entities',
    scope: MCP_WRITE,
    annotations: ADD,
    description: 'Adds entities to your knowledge graph; names that already exist are skipped.',
    input: z.object({ entities: z.array(Entity).min(1).max(100) }),
    output: z.object({ created: z.array(Entity) }),
    run: async ({ entities }, { caller }) => {
      const events = await store.graph(caller.userId, { type: 'CreateEntities', entities });
      return { created: events.flatMap((e) => (e.type === 'MemoryEntitiesCreated' ? e.data.entities : [])) };
    },
  }),
  defineTool({
    name: 'memory_create_relations',
    title: 'Create relations',
    scope: MCP_WRITE,
    annotations: ADD,
    description: 'Adds directed relations between existing entities; existing relations are skipped.',
    input: z.object({ relations: z.array(Relation).min(1).max(100) }),
    output: z.object({ created: z.array(Relation) }),
    run: async ({ relations }, { caller }) => {
      const events = await store.graph(caller.userId, { type: 'CreateRelations', relations });
      return { created: events.flatMap((e) => (e.type === 'MemoryRelationsCreated' ? e.data.relations : [])) };
    },
  }),
  defineTool({
    name: 'memory_add_observations',
    title: 'Add observations',
    scope: MCP_WRITE,
    annotations: ADD,
    description: 'Adds facts to existing entities; facts already recorded are skipped.',
    input: z.object({
      observations: z
        .array(z.object({ entityName: Name, contents: z.array(Observation).min(1).max(100) }))
        .min(1)
        .max(100),
    }),
    output: z.object({ added: z.array(z.object({ entityName: z.string(), addedObservations: z.array(z.string()) })) }),
    run: async ({ observations }, { caller }) => {
      const events = await store.graph(caller.userId, { type: 'AddObservations', additions: observations });
      return {
        added: events.flatMap((e) =>
          e.type === 'MemoryObservationsAdded'
            ? e.data.additions.map((a) => ({ entityName: a.entityName, addedObservations: a.contents }))
            : [],
        ),
      };
    },
  }),
  defineTool({
    name: 'memory_delete_entities',
    title: 'Delete entities',
    scope: MCP_WRITE,
    annotations: REMOVE,
    description: 'Deletes entities and every relation that touches them.',
    input: z.object({ entityNames: z.array(Name).min(1).max(100) }),
    output: z.object({ deleted: z.array(z.string()) }),
    run: async ({ entityNames }, { caller }) => {
      const events = await store.graph(caller.userId, { type: 'DeleteEntities', names: entityNames });
      return { deleted: events.flatMap((e) => (e.type === 'MemoryEntitiesDeleted' ? e.data.names : [])) };
    },
  }),
  defineTool({
    name: 'memory_delete_observations',
    title: 'Delete observations',
    scope: MCP_WRITE,
    annotations: REMOVE,
    description: 'Removes specific facts from entities.',
    input: z.object({
      deletions: z
        .array(z.object({ entityName: Name, observations: z.array(Observation).min(1).max(100) }))
        .min(1)
        .max(100),
    }),
    output: z.object({ deleted: z.array(z.object({ entityName: z.string(), observations: z.array(z.string()) })) }),
    run: async ({ deletions }, { caller }) => {
      const events = await store.graph(caller.userId, { type: 'DeleteObservations', deletions });
      return { deleted: events.flatMap((e) => (e.type === 'MemoryObservationsDeleted' ? e.data.deletions : [])) };
    },
  }),
  defineTool({
    name: 'memory_delete_relations',
    title: 'Delete relations',
    scope: MCP_WRITE,
    annotations: REMOVE,
    description: 'Removes relations from your knowledge graph.',
    input: z.object({ relations: z.array(Relation).min(1).max(100) }),
    output: z.object({ deleted: z.array(Relation) }),
    run: async ({ relations }, { caller }) => {
      const events = await store.graph(caller.userId, { type: 'DeleteRelations', relations });
      return { deleted: events.flatMap((e) => (e.type === 'MemoryRelationsDeleted' ? e.data.relations : [])) };
    },
  }),
  defineTool({
    name: 'memory_read_graph',
    title: 'Read the knowledge graph',
    scope: MCP_READ,
    annotations: READ,
    description: 'Your whole knowledge graph: entities with observations, and relations.',
    input: z.object({}),
    output: Graph,
    run: (_args, { caller }) => store.readGraph(caller.userId),
    render: graphText,
  }),
  defineTool({
    name: 'memory_search_nodes',
    title: 'Search the knowledge graph',
    scope: MCP_READ,
    annotations: READ,
    description:
      'Finds entities whose name, type or observations match the query (ranked), with the relations among them.',
    input: z.object({ query: z.string().min(1).max(500) }),
    output: Graph,
    run: ({ query }, { caller }) => store.searchNodes(caller.userId, query),
    render: graphText,
  }),
  defineTool({
    name: 'memory_open_nodes',
    title: 'Open entities',
    scope: MCP_READ,
    annotations: READ,
    description: 'The named entities with their observations and the relations among them.',
    input: z.object({ names: z.array(Name).min(1).max(100) }),
    output: Graph,
    run: async ({ names }, { caller }) => {
      const graph = await store.readGraph(caller.userId, names);
      if (graph.entities.length === 0) throw new ToolError('entity_not_found', 'none of these entities exist');
      return graph;
    },
    render: graphText,
  }),
];

/** Memory keeps text as given: arguments it could not store faithfully are refused (define.ts). */
export const memoryTools = (store: MemoryStore): Tool[] => declaredTools(store).map(refusingUnstorableText);
