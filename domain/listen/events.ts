import { z } from 'zod';

/**
 * A change published for `subscriptions/listen` streams (MCP 2026-07-28) by code that has no event of its
 * own to point at (the SDK handler's `notify`): stream `mcp-server-events`, kept short by retention. The
 * kinds are the SDK's ServerEvent kinds, each one notification method.
 */
export const McpServerEventPublished = z.object({
  type: z.literal('McpServerEventPublished'),
  data: z.object({
    kind: z.enum(['tools_list_changed', 'prompts_list_changed', 'resources_list_changed', 'resource_updated']),
    /** The resource, for `resource_updated`. */
    uri: z.string().optional(),
    at: z.string(),
  }),
});
export type McpServerEventPublished = z.infer<typeof McpServerEventPublished>;

export const SERVER_EVENTS_STREAM = 'mcp-server-events';
