// Read models of the admin area (added to the runner by projections/index.ts).
import type { Projection } from '../sql.ts';

export const adminProjections: readonly Projection[] = [];
