// Read models of the oauth area (added to the runner by projections/index.ts).
import type { Projection } from '../sql.ts';
import { clientsProjection } from './clients.ts';
import { grantsProjection } from './grants.ts';
import { refreshTokensProjection } from './refresh-tokens.ts';

export const oauthProjections: readonly Projection[] = [clientsProjection, grantsProjection, refreshTokensProjection];
