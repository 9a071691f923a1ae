// Read models of the tools area (added to the runner by projections/index.ts).
import type { Projection } from '../sql.ts';
import { memoryGraphProjection, memoryNoteWritesProjection, memoryNotesProjection } from './memory.ts';
import { toolCallsProjection, toolSettingsProjection } from './settings.ts';

export const toolsProjections: readonly Projection[] = [
  toolSettingsProjection,
  toolCallsProjection,
  memoryGraphProjection,
  memoryNotesProjection,
  memoryNoteWritesProjection,
];
