export type McpSessionState =
  | { readonly status: 'absent' }
  | {
      readonly status: 'open' | 'closed';
      readonly sessionId: string;
      readonly userId: string;
      readonly clientId: string;
      readonly protocolVersion: string;
      readonly initializeParams: Readonly<Record<string, unknown>>;
      readonly expiresAt: Date;
    };

export const initialMcpSessionState = (): McpSessionState => ({ status: 'absent' });

export type McpSessionCommand =
  | {
      type: 'OpenSession';
      sessionId: string;
      userId: string;
      clientId: string;
      tokenId: string | undefined;
      initializeParams: Record<string, unknown>;
      now: Date;
      lifetimeMs: number;
    }
  | { type: 'CloseSession'; reason: 'deleted' | 'expired'; now: Date }
  | { type: 'CloseSession'; reason: 'ended_by_admin'; endedBy: { id: string; email?: string }; now: Date };
