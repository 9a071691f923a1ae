// The note decider: a note belongs to the user who stored it; anyone else is told it does not exist.
import { DomainError, assertNever, type Decider } from '../shared.ts';
import { NoteEvent } from './events.ts';

export type NoteState =
  | { readonly status: 'absent' }
  | {
      readonly status: 'active';
      readonly userId: string;
      readonly title: string;
      readonly content: string;
      readonly tags: readonly string[];
    }
  | { readonly status: 'deleted'; readonly userId: string };

export type NoteCommand =
  | { type: 'StoreNote'; noteId: string; userId: string; title: string; content: string; tags: string[]; now: Date }
  | { type: 'UpdateNote'; noteId: string; userId: string; title?: string; content?: string; tags?: string[]; now: Date }
  | { type: 'DeleteNote'; noteId: string; userId: string; now: Date };

export const noteStream = (noteId: string): string => `memory-note-${noteId}`;

const normalizeTags = (tags: readonly string[]): string[] =>
  [...new Set(tags.map((t) => t.trim().toLowerCase()).filter(Boolean))].sort();

export const decideNote = (command: NoteCommand, state: NoteState): NoteEvent[] => {
  const at = command.now.toISOString();
  if (command.type === 'StoreNote') {
    if (state.status !== 'absent') throw new DomainError('note_exists', 'a note with this id already exists');
    const { noteId, userId, title, content } = command;
    return [{ type: 'MemoryStored', data: { noteId, userId, title, content, tags: normalizeTags(command.tags), at } }];
  }
  // Another user's note and a missing one look the same: ids do not leak across users.
  if (state.status !== 'active' || state.userId !== command.userId)
    throw new DomainError('note_not_found', 'no such note');
  switch (command.type) {
    case 'UpdateNote': {
      const next = {
        title: command.title ?? state.title,
        content: command.content ?? state.content,
        tags: command.tags ? normalizeTags(command.tags) : [...state.tags],
      };
      if (
        next.title === state.title &&
        next.content === state.content &&
        JSON.stringify(next.tags) === JSON.stringify(state.tags)
      )
        return [];
      return [{ type: 'MemoryUpdated', data: { noteId: command.noteId, userId: command.userId, ...next, at } }];
    }
    case 'DeleteNote':
      return [{ type: 'MemoryDeleted', data: { noteId: command.noteId, userId: command.userId, at } }];
    default:
      return assertNever(command);
  }
};

export const evolveNote = (state: NoteState, event: NoteEvent): NoteState => {
  switch (event.type) {
    case 'MemoryStored':
    case 'MemoryUpdated':
      return {
        status: 'active',
        userId: event.data.userId,
        title: event.data.title,
        content: event.data.content,
        tags: event.data.tags,
      };
    case 'MemoryDeleted':
      return { status: 'deleted', userId: event.data.userId };
    default:
      return assertNever(event);
  }
};

export const noteDecider: Decider<NoteCommand, NoteEvent, NoteState> = {
  initialState: () => ({ status: 'absent' }),
  decide: decideNote,
  evolve: evolveNote,
  parse: (event) => NoteEvent.parse(event),
  // Each event carries the whole note: a load reads the newest one only, however often it was edited.
  snapshot: {
    types: ['MemoryStored', 'MemoryUpdated', 'MemoryDeleted'],
    every: Number.POSITIVE_INFINITY,
    take: () => undefined,
  },
};
