import { DomainError, assertNever } from '../shared.ts';
import type { McpSessionEvent } from './events.ts';
import type { McpSessionCommand, McpSessionState } from './state.ts';

const text = (value: unknown, fallback: string): string =>
  typeof value === 'string' && value.length > 0 ? value.slice(0, 200) : fallback;

export const decideMcpSession = (command: McpSessionCommand, state: McpSessionState): McpSessionEvent[] => {
  switch (command.type) {
    case 'OpenSession': {
      if (state.status !== 'absent') throw new DomainError('session_exists', 'this session id is taken');
      if (command.lifetimeMs <= 0) throw new DomainError('invalid_lifetime', 'a session needs a positive lifetime');
      const params = command.initializeParams;
      const clientInfo = (params.clientInfo ?? {}) as Record<string, unknown>;
      return [
        {
          type: 'McpSessionOpened',
          data: {
            sessionId: command.sessionId,
            userId: command.userId,
            clientId: command.clientId,
            ...(command.tokenId ? { tokenId: command.tokenId } : {}),
            protocolVersion: text(params.protocolVersion, 'unknown'),
            clientName: text(clientInfo.name, 'unknown'),
            clientVersion: text(clientInfo.version, ''),
            initializeParams: params,
            openedAt: command.now.toISOString(),
            expiresAt: new Date(command.now.getTime() + command.lifetimeMs).toISOString(),
          },
        },
      ];
    }
    case 'CloseSession':
      if (state.status === 'absent') throw new DomainError('session_not_found', 'no such session');
      // Idempotent: two instances (or a DELETE racing the expiry sweep) may both close it.
      if (state.status === 'closed') return [];
      return [
        {
          type: 'McpSessionClosed',
          data: {
            sessionId: state.sessionId,
            reason: command.reason,
            at: command.now.toISOString(),
            ...(command.reason === 'ended_by_admin' ? { endedBy: command.endedBy } : {}),
          },
        },
      ];
    default:
      return assertNever(command);
  }
};
