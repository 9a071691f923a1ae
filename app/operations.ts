// Operations an administrator asks for (the admin panel, the CLI): recorded as events first, so the audit
// log says who asked and when, and a request for something unknown is refused before any work starts.
import { operationDecider, operationStream } from '../domain/admin/operations.ts';
import type { EventLog } from '../eventstore/port.ts';
import { handleCommand, type CommandContext } from './handle.ts';

/** Records that `context.actor` asked to rebuild `projection` (one of `known`); the caller then runs it. */
export const requestRebuild = async (
  log: EventLog,
  projection: string,
  known: readonly string[],
  context: CommandContext,
  now = new Date(),
): Promise<void> => {
  await handleCommand(
    log,
    operationStream(projection),
    operationDecider,
    { type: 'RequestRebuild', projection, known, now },
    context,
  );
};
