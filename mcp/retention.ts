// Retention of MCP sessions: sessions past their expiry are closed (an audit event, never removed);
// their message streams age out by the $maxAge/$maxCount metadata set when they were opened.
import type { CoreServices } from '../app/core.ts';
import { handleCommand } from '../app/handle.ts';
import { SYSTEM } from '../domain/shared.ts';
import { mcpSessionDecider, sessionStream } from '../domain/sessions/index.ts';
import type { SessionHosts } from './sessions.ts';
import { expiredOpenSessionIds } from '../projections/mcp/sessions.queries.ts';

/** Closes every open session whose expiry has passed; returns how many. Safe on several instances at once. */
export const sweepExpiredSessions = async (core: CoreServices, sessions: SessionHosts, now: Date): Promise<number> => {
  let closed = 0;
  for (const id of await expiredOpenSessionIds(core.db, now)) {
    const result = await handleCommand(
      core.log,
      sessionStream(id),
      mcpSessionDecider,
      { type: 'CloseSession', reason: 'expired', now },
      { actor: SYSTEM },
    );
    if (result.events.length > 0) closed += 1;
    sessions.closed(id);
  }
  return closed;
};
