// What the HTTP layer is built from: the core and the areas the composition root builds from it. Each
// route factory takes the `Pick` of it that it uses, so a test passes only those, real ones.
import type { CoreServices } from '../app/core.ts';
import type { OAuth } from '../app/oauth/index.ts';
import type { Mcp } from '../mcp/index.ts';
import type { Tools } from '../mcp/tools/index.ts';
import type { BrowserSessions } from './browser-sessions.ts';

export type HttpDeps = CoreServices & {
  browserSessions: BrowserSessions;
  oauth: OAuth;
  tools: Tools;
  mcp: Mcp;
};
