// Read models of the mcp area (added to the runner by projections/index.ts).
import type { Projection } from '../sql.ts';

export const mcpProjections: readonly Projection[] = [];
