// Read models of the oauth area (added to the runner by projections/index.ts).
import type { Projection } from '../sql.ts';

export const oauthProjections: readonly Projection[] = [];
