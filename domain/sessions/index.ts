// The MCP session aggregate. Lifecycle in `mcp-session-<id>` (kept for the audit log); the messages the
// server sent, for resumption, in `mcp-messages-<id>` (bounded by retention metadata).
import type { Decider } from '../shared.ts';
import { decideMcpSession } from './decide.ts';
import { McpSessionEvent } from './events.ts';
import { evolveMcpSession } from './evolve.ts';
import { initialMcpSessionState, type McpSessionCommand, type McpSessionState } from './state.ts';

export { McpSessionEvent, McpEventEmitted, MCP_SESSION_CLOSE_REASONS, type McpSessionCloseReason } from './events.ts';
export type { McpSessionCommand, McpSessionState } from './state.ts';

export const sessionStream = (sessionId: string): string => `mcp-session-${sessionId}`;
export const messageStream = (sessionId: string): string => `mcp-messages-${sessionId}`;

/** The session's state at `now`: an open session past its expiry counts as gone. */
export const isLive = (state: McpSessionState, now: Date): boolean =>
  state.status === 'open' && state.expiresAt.getTime() > now.getTime();

export const mcpSessionDecider: Decider<McpSessionCommand, McpSessionEvent, McpSessionState> = {
  initialState: initialMcpSessionState,
  decide: decideMcpSession,
  evolve: evolveMcpSession,
  parse: (event) => McpSessionEvent.parse(event),
};
