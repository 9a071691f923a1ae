// Every read model the server maintains. Add a projection here and the runner sets it up and feeds it.
import type { Projection } from './sql.ts';
import { usersProjection } from './users.ts';

export const allProjections: readonly Projection[] = [usersProjection];
