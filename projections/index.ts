// Every read model the server maintains. Each area lists its own; the runner sets them up and feeds them.
import type { Projection } from './sql.ts';
import { usersProjection } from './users.ts';
import { userCredentialsProjection } from './user-credentials.ts';
import { verifiedEmailsProjection } from './verified-emails.ts';
import { browserSessionsProjection } from './browser-sessions.ts';
import { oauthProjections } from './oauth/index.ts';
import { mcpProjections } from './mcp/index.ts';
import { toolsProjections } from './tools/index.ts';

export const allProjections: readonly Projection[] = [
  usersProjection,
  userCredentialsProjection,
  verifiedEmailsProjection,
  browserSessionsProjection,
  ...oauthProjections,
  ...mcpProjections,
  ...toolsProjections,
];
