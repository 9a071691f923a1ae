import { assertNever } from '../shared.ts';
import type { McpSessionEvent } from './events.ts';
import type { McpSessionState } from './state.ts';

export const evolveMcpSession = (state: McpSessionState, event: McpSessionEvent): McpSessionState => {
  switch (event.type) {
    case 'McpSessionOpened':
      return {
        status: 'open',
        sessionId: event.data.sessionId,
        userId: event.data.userId,
        clientId: event.data.clientId,
        protocolVersion: event.data.protocolVersion,
        initializeParams: event.data.initializeParams,
        expiresAt: new Date(event.data.expiresAt),
      };
    case 'McpSessionClosed':
      return state.status === 'absent' ? state : { ...state, status: 'closed' };
    default:
      return assertNever(event);
  }
};
