// Memory: a per-user knowledge graph and per-note streams of free-form notes.
export { GraphEvent, NoteEvent, type Entity, type Relation } from './events.ts';
export {
  GRAPH_SNAPSHOT_EVERY,
  graphDecider,
  graphStream,
  relationKey,
  type GraphCommand,
  type GraphState,
} from './graph.ts';
export { noteDecider, noteStream, type NoteCommand, type NoteState } from './notes.ts';
