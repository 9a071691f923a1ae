// The MCP server side (issue 5): sessions, resumption, the SDK server per session. Placeholder until it lands.
import type { CoreServices } from '../app/services.ts';
import type { OAuth } from '../app/oauth/index.ts';
import type { Tools } from './tools/index.ts';

export type Mcp = { close(): Promise<void> };

export const createMcp = async (_core: CoreServices, _oauth: OAuth, _tools: Tools): Promise<Mcp> => ({ close: async () => undefined });
