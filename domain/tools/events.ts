import { z } from 'zod';

/** Admin switches for one tool (stream `tool-<name>`). */
export const ToolSettingEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('ToolDisabled'),
    data: z.object({ name: z.string(), at: z.string(), reason: z.string().optional() }),
  }),
  z.object({ type: z.literal('ToolEnabled'), data: z.object({ name: z.string(), at: z.string() }) }),
]);
export type ToolSettingEvent = z.infer<typeof ToolSettingEvent>;

export const TOOL_OUTCOMES = ['ok', 'error', 'denied', 'disabled'] as const;

/** One tool call, for the audit log (stream `audit-tools-<userId>`; retention never touches `audit-*`). */
export const ToolCalled = z.object({
  type: z.literal('ToolCalled'),
  data: z.object({
    callId: z.string(),
    tool: z.string(),
    userId: z.string(),
    clientId: z.string(),
    sessionId: z.string().optional(),
    tokenId: z.string().optional(),
    /** Argument summary: secrets redacted, long values shortened. */
    arguments: z.record(z.string(), z.unknown()),
    outcome: z.enum(TOOL_OUTCOMES),
    error: z.string().optional(),
    durationMs: z.number(),
    at: z.string(),
  }),
});
export type ToolCalled = z.infer<typeof ToolCalled>;
