import { z } from 'zod';

/** `deleted`: the client's DELETE; `expired`: the sweep; `ended_by_admin`: the panel's End action. */
export const MCP_SESSION_CLOSE_REASONS = ['deleted', 'expired', 'ended_by_admin'] as const;
export type McpSessionCloseReason = (typeof MCP_SESSION_CLOSE_REASONS)[number];

/** Lifecycle of one MCP session (stream `mcp-session-<id>`): audit events, never subject to retention. */
export const McpSessionEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('McpSessionOpened'),
    data: z.object({
      sessionId: z.string(),
      userId: z.string(),
      clientId: z.string(),
      tokenId: z.string().optional(),
      protocolVersion: z.string(),
      clientName: z.string(),
      clientVersion: z.string(),
      /** The client's `initialize` params, replayed to rebuild the SDK server on any instance. */
      initializeParams: z.record(z.string(), z.unknown()),
      openedAt: z.string(),
      expiresAt: z.string(),
    }),
  }),
  z.object({
    type: z.literal('McpSessionClosed'),
    data: z.object({
      sessionId: z.string(),
      reason: z.enum(MCP_SESSION_CLOSE_REASONS),
      at: z.string(),
      /** The admin who ended it (reason `ended_by_admin`); absent in events written before admins could. */
      endedBy: z.object({ id: z.string(), email: z.string().optional() }).optional(),
    }),
  }),
]);
export type McpSessionEvent = z.infer<typeof McpSessionEvent>;

/**
 * One message the server sent on one SSE stream of a session (stream `mcp-messages-<id>`, bounded by
 * EVENT_RETENTION / EVENT_RETENTION_MAX_PER_STREAM). `streamId` is the SDK's stream: one per POST that
 * carried requests, or the standalone GET stream. An empty `message` is a priming event (no payload),
 * or, with `omittedBytes`, a message too large to keep (mcp/replay-bound.ts).
 * `seq` numbers the messages of a request stream (0 = its priming event): only the instance that runs
 * the request writes to its stream, so the number is assigned before the event is stored.
 */
export const McpEventEmitted = z.object({
  type: z.literal('McpEventEmitted'),
  data: z.object({
    sessionId: z.string(),
    /** The session's user, whose key seals `message` (domain/personal.ts); absent in older events. */
    userId: z.string().optional(),
    streamId: z.string(),
    seq: z.number().int().min(0).optional(),
    message: z.record(z.string(), z.unknown()),
    /** Set when the message sent was larger than MCP_REPLAY_MAX_BYTES: `message` is then its stand-in. */
    omittedBytes: z.number().int().min(0).optional(),
  }),
});
export type McpEventEmitted = z.infer<typeof McpEventEmitted>;
