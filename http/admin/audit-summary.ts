// One line per event for the audit page, where the raw JSON says little at a glance: what an MCP
// message was (method, tool, outcome), who a tool call was for and how it ended, why a session closed.
import type { RecordedEvent } from '../../eventstore/port.ts';

type Message = {
  id?: unknown;
  method?: unknown;
  result?: Record<string, unknown>;
  error?: { code?: unknown; message?: unknown };
};

/** What a result answered, from its shape (the request itself is the client's, never stored). */
const resultKind = (result: Record<string, unknown>): string => {
  if ('protocolVersion' in result && 'serverInfo' in result) return 'initialize';
  if (Array.isArray(result.tools)) return 'tools/list';
  if (Array.isArray(result.content)) return 'tools/call';
  if (Array.isArray(result.resources)) return 'resources/list';
  if (Array.isArray(result.contents)) return 'resources/read';
  if (Array.isArray(result.prompts)) return 'prompts/list';
  if (Array.isArray(result.messages)) return 'prompts/get';
  if (Array.isArray(result.resourceTemplates)) return 'resources/templates/list';
  return Object.keys(result).length === 0 ? 'ping / empty result' : 'result';
};

/**
 * Summaries for a page of events in log order (oldest first). A tools/call answer is paired with the
 * ToolCalled before it in the same session: the registry queues the audit event ahead of the answer.
 */
export const summarize = (events: readonly RecordedEvent[]): Map<string, string> => {
  const lines = new Map<string, string>();
  const pendingTools = new Map<string, string[]>();
  for (const event of events) {
    const data = (event.data ?? {}) as Record<string, unknown>;
    const session = typeof data.sessionId === 'string' ? data.sessionId : '';
    switch (event.type) {
      case 'ToolCalled': {
        const outcome = String(data.outcome);
        lines.set(event.id, `${String(data.tool)} → ${outcome}${data.error ? ` (${String(data.error)})` : ''}`);
        if (outcome === 'ok' || outcome === 'error' || outcome === 'disabled') {
          const queue = pendingTools.get(session) ?? [];
          queue.push(String(data.tool));
          pendingTools.set(session, queue);
        }
        break;
      }
      case 'McpEventEmitted': {
        const message = (data.message ?? {}) as Message;
        if (Object.keys(message).length === 0) {
          lines.set(event.id, 'stream opened (priming event)');
        } else if (typeof message.method === 'string') {
          lines.set(event.id, `${'id' in message ? 'request' : 'notification'} ${message.method}`);
        } else if (message.error) {
          lines.set(
            event.id,
            `error ${String(message.error.code)}: ${String(message.error.message ?? '')}`.slice(0, 200),
          );
        } else if (message.result) {
          const kind = resultKind(message.result);
          const tool = kind === 'tools/call' ? pendingTools.get(session)?.shift() : undefined;
          const outcome = message.result.isError === true ? 'error' : 'ok';
          lines.set(event.id, `${kind}${tool ? ` ${tool}` : ''} → ${outcome}`);
        }
        break;
      }
      case 'McpSessionOpened':
        lines.set(
          event.id,
          `session opened by ${String(data.clientName)} ${String(data.clientVersion)} (${String(data.protocolVersion)})`,
        );
        break;
      case 'McpSessionClosed': {
        const by = data.endedBy as { email?: unknown; id?: unknown } | undefined;
        const reason = String(data.reason).replaceAll('_', ' ');
        lines.set(event.id, `session closed: ${reason}${by ? ` (${String(by.email ?? by.id)})` : ''}`);
        break;
      }
      default:
        break;
    }
  }
  return lines;
};
