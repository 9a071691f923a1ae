// Read models of the tools area (added to the runner by projections/index.ts).
import type { Projection } from '../sql.ts';

export const toolsProjections: readonly Projection[] = [];
