// The knowledge-graph decider: entity names are unique per user, relations need both ends,
// duplicates are skipped (as the reference memory server does), deleting an entity drops its relations.
import { DomainError, assertNever, type Decider } from '../shared.ts';
import { GraphEvent, type Entity, type Relation } from './events.ts';

export type GraphState = {
  readonly entities: ReadonlyMap<string, { readonly entityType: string; readonly observations: readonly string[] }>;
  readonly relations: ReadonlyMap<string, Relation>;
};

export type GraphCommand =
  | { type: 'CreateEntities'; userId: string; entities: Entity[]; now: Date }
  | { type: 'AddObservations'; userId: string; additions: { entityName: string; contents: string[] }[]; now: Date }
  | { type: 'DeleteEntities'; userId: string; names: string[]; now: Date }
  | {
      type: 'DeleteObservations';
      userId: string;
      deletions: { entityName: string; observations: string[] }[];
      now: Date;
    }
  | { type: 'CreateRelations'; userId: string; relations: Relation[]; now: Date }
  | { type: 'DeleteRelations'; userId: string; relations: Relation[]; now: Date };

export const graphStream = (userId: string): string => `memory-graph-${userId}`;
export const relationKey = (r: Relation): string => JSON.stringify([r.from, r.to, r.relationType]);
const unique = <T>(items: readonly T[]): T[] => [...new Set(items)];

const requireEntity = (state: GraphState, name: string) => {
  const entity = state.entities.get(name);
  if (!entity) throw new DomainError('entity_not_found', `no entity named "${name}"`);
  return entity;
};

export const decideGraph = (command: GraphCommand, state: GraphState): GraphEvent[] => {
  const base = { userId: command.userId, at: command.now.toISOString() };
  switch (command.type) {
    case 'CreateEntities': {
      const seen = new Set<string>();
      const entities = command.entities
        .filter((e) => !state.entities.has(e.name) && !seen.has(e.name) && seen.add(e.name))
        .map((e) => ({ ...e, observations: unique(e.observations) }));
      return entities.length ? [{ type: 'MemoryEntitiesCreated', data: { ...base, entities } }] : [];
    }
    case 'AddObservations': {
      const additions = command.additions
        .map((a) => {
          const existing = new Set(requireEntity(state, a.entityName).observations);
          return { entityName: a.entityName, contents: unique(a.contents).filter((c) => !existing.has(c)) };
        })
        .filter((a) => a.contents.length > 0);
      return additions.length ? [{ type: 'MemoryObservationsAdded', data: { ...base, additions } }] : [];
    }
    case 'DeleteEntities': {
      const names = unique(command.names).filter((name) => state.entities.has(name));
      return names.length ? [{ type: 'MemoryEntitiesDeleted', data: { ...base, names } }] : [];
    }
    case 'DeleteObservations': {
      const deletions = command.deletions
        .map((d) => {
          const existing = new Set(state.entities.get(d.entityName)?.observations ?? []);
          return { entityName: d.entityName, observations: unique(d.observations).filter((o) => existing.has(o)) };
        })
        .filter((d) => d.observations.length > 0);
      return deletions.length ? [{ type: 'MemoryObservationsDeleted', data: { ...base, deletions } }] : [];
    }
    case 'CreateRelations': {
      for (const r of command.relations) {
        requireEntity(state, r.from);
        requireEntity(state, r.to);
      }
      const fresh = new Map(
        command.relations.filter((r) => !state.relations.has(relationKey(r))).map((r) => [relationKey(r), r]),
      );
      return fresh.size ? [{ type: 'MemoryRelationsCreated', data: { ...base, relations: [...fresh.values()] } }] : [];
    }
    case 'DeleteRelations': {
      const existing = new Map(
        command.relations.filter((r) => state.relations.has(relationKey(r))).map((r) => [relationKey(r), r]),
      );
      return existing.size
        ? [{ type: 'MemoryRelationsDeleted', data: { ...base, relations: [...existing.values()] } }]
        : [];
    }
    default:
      return assertNever(command);
  }
};

export const evolveGraph = (state: GraphState, event: GraphEvent): GraphState => {
  const entities = new Map(state.entities);
  const relations = new Map(state.relations);
  switch (event.type) {
    case 'MemoryEntitiesCreated':
      for (const e of event.data.entities)
        entities.set(e.name, { entityType: e.entityType, observations: e.observations });
      break;
    case 'MemoryObservationsAdded':
      for (const a of event.data.additions) {
        const e = entities.get(a.entityName);
        if (e) entities.set(a.entityName, { ...e, observations: [...e.observations, ...a.contents] });
      }
      break;
    case 'MemoryEntitiesDeleted': {
      const gone = new Set(event.data.names);
      for (const name of gone) entities.delete(name);
      for (const [key, r] of relations) if (gone.has(r.from) || gone.has(r.to)) relations.delete(key);
      break;
    }
    case 'MemoryObservationsDeleted':
      for (const d of event.data.deletions) {
        const e = entities.get(d.entityName);
        if (e)
          entities.set(d.entityName, { ...e, observations: e.observations.filter((o) => !d.observations.includes(o)) });
      }
      break;
    case 'MemoryRelationsCreated':
      for (const r of event.data.relations) relations.set(relationKey(r), r);
      break;
    case 'MemoryRelationsDeleted':
      for (const r of event.data.relations) relations.delete(relationKey(r));
      break;
    case 'MemoryGraphSnapshotted':
      return {
        entities: new Map(event.data.entities.map(({ name, ...entity }) => [name, entity])),
        relations: new Map(event.data.relations.map((r) => [relationKey(r), r])),
      };
    default:
      return assertNever(event);
  }
  return { entities, relations };
};

/** Every memory write appends to the user's one graph stream: snapshots keep a write's load flat. */
export const GRAPH_SNAPSHOT_EVERY = 50;

const snapshotGraph = (state: GraphState): GraphEvent => ({
  type: 'MemoryGraphSnapshotted',
  data: {
    entities: [...state.entities].map(([name, entity]) => ({
      name,
      entityType: entity.entityType,
      observations: [...entity.observations],
    })),
    relations: [...state.relations.values()],
  },
});

export const graphDecider: Decider<GraphCommand, GraphEvent, GraphState> = {
  initialState: () => ({ entities: new Map(), relations: new Map() }),
  decide: decideGraph,
  evolve: evolveGraph,
  parse: (event) => GraphEvent.parse(event),
  snapshot: { types: ['MemoryGraphSnapshotted'], every: GRAPH_SNAPSHOT_EVERY, take: snapshotGraph },
};
