// CLI commands contributed by the areas: tools (tools list|enable|disable, memory backfill-embeddings);
// OAuth (clients list|add|delete, tokens revoke, keys rotate).
import type { Command } from './commands.ts';
import { toolsCommands } from '../mcp/tools/cli.ts';
import { oauthCommands } from './oauth-commands.ts';

export const extraCommands = (
  out: (text: string) => void,
  table: (rows: Record<string, unknown>[]) => void,
): Record<string, Command> => ({
  ...oauthCommands(out, table),
  ...toolsCommands(out, table),
});
