// The command line (README "Command line"). Every command is idempotent and safe to re-run.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../app/config.ts';
import { createLogger } from '../app/logger.ts';
import { DataDirBusyError, openServices, type Services } from '../app/services.ts';
import { DomainError } from '../domain/shared.ts';
import { COMMANDS, USAGE } from './commands.ts';

const fail: (message: string, code?: number) => never = (message, code = 1) => {
  process.stderr.write(`${message}\n`);
  process.exit(code);
};
/** Exit status for a command line that names no command or has bad options (as getopt-style tools do). */
const USAGE_ERROR = 2;

// `remotemcp events export | head`: a closed pipe ends the command quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const [group, action, ...rest] = process.argv.slice(2);
const key = [group, action].filter(Boolean).join(' ');
const command = COMMANDS[key] ?? COMMANDS[group ?? ''];
if (group === undefined || group === 'help' || group === '--help') {
  process.stdout.write(USAGE);
  process.exit(group === undefined ? USAGE_ERROR : 0);
}
if (!command) fail(`remotemcp: unknown command '${key}'\n\n${USAGE}`, USAGE_ERROR);
const args = COMMANDS[key] ? rest : [action, ...rest].filter((value): value is string => value !== undefined);
let parsed;
try {
  parsed = parseArgs({ args, options: command.options ?? {}, allowPositionals: true, strict: true });
} catch (error) {
  fail(`remotemcp ${key}: ${(error as Error).message}\n\n${USAGE}`, USAGE_ERROR);
}

let config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) fail(error.message);
  throw error;
}
// Logs go to stderr so `events export` keeps stdout clean NDJSON.
const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, undefined, process.stderr);
let services: Services | undefined;
try {
  services = await openServices(config, logger, { startProjections: command.projections ?? true, loadSecret: false });
  const code = await command.run(
    services,
    parsed!.values as Record<string, string | boolean | undefined>,
    parsed!.positionals,
  );
  await services.close();
  process.exit(code ?? 0);
} catch (error) {
  await services?.close().catch(() => undefined);
  if (error instanceof DomainError || error instanceof DataDirBusyError) fail(error.message);
  fail(`error: ${error instanceof Error ? error.message : String(error)}`);
}
