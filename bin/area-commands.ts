// CLI commands of the OAuth area (clients, tokens, keys); filled in as that area's services land.
import type { Command } from './commands.ts';

export const extraCommands = (
  _out: (text: string) => void,
  _table: (rows: Record<string, unknown>[]) => void,
): Record<string, Command> => ({});
