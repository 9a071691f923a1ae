// MCP_CONFORMANCE_FIXTURES: the tools, resources and prompts that @modelcontextprotocol/conformance's
// server scenarios call by name (their descriptions fix names and results). Loopback-only (config
// refuses it otherwise), unauthenticated, off by default. Test fixtures, not product features.
import { z } from 'zod';
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import {
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type CallToolResult,
  type GetPromptResult,
} from '@modelcontextprotocol/sdk/types.js';
import {
  acceptedContent,
  CLIENT_CAPABILITIES_META_KEY,
  fromJsonSchema,
  inputRequired,
  ProtocolError,
  ProtocolErrorCode,
  ResourceTemplate as ModernResourceTemplate,
  type CallToolResult as ModernCallToolResult,
  type InputRequests,
  type JsonSchemaType,
  type McpServer as ModernMcpServer,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { randomUUID } from 'node:crypto';
import type { ToolCaller } from './tools/index.ts';
import type { ModernContext } from './modern/handler.ts';

// A 1×1 PNG and a 44-byte silent WAV, base64.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
const WAV = 'UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA=';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });

/** The suite's tools whose answer is fixed: the same in both eras. */
const FIXED_TOOLS: { name: string; description: string; result: CallToolResult }[] = [
  {
    name: 'test_simple_text',
    description: 'Returns simple text content',
    result: text('This is a simple text response for testing.'),
  },
  {
    name: 'test_image_content',
    description: 'Returns an image',
    result: { content: [{ type: 'image', data: PNG, mimeType: 'image/png' }] },
  },
  {
    name: 'test_audio_content',
    description: 'Returns audio',
    result: { content: [{ type: 'audio', data: WAV, mimeType: 'audio/wav' }] },
  },
  {
    name: 'test_embedded_resource',
    description: 'Returns an embedded resource',
    result: {
      content: [
        {
          type: 'resource',
          resource: {
            uri: 'test://embedded-resource',
            mimeType: 'text/plain',
            text: 'This is an embedded resource content.',
          },
        },
      ],
    },
  },
  {
    name: 'test_multiple_content_types',
    description: 'Returns text, image and resource',
    result: {
      content: [
        { type: 'text', text: 'Multiple content types test:' },
        { type: 'image', data: PNG, mimeType: 'image/png' },
        {
          type: 'resource',
          resource: {
            uri: 'test://mixed-content-resource',
            mimeType: 'application/json',
            text: JSON.stringify({ test: 'data', value: 123 }),
          },
        },
      ],
    },
  },
];

const registerTools = (server: McpServer): void => {
  for (const { name, description, result } of FIXED_TOOLS)
    server.registerTool(name, { description }, async () => result);
  server.registerTool('test_tool_with_logging', { description: 'Logs three messages' }, async (extra) => {
    for (const [i, data] of ['Tool execution started', 'Tool processing data', 'Tool execution completed'].entries()) {
      if (i > 0) await sleep(50);
      await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data } });
    }
    return text('Logging test completed');
  });
  server.registerTool('test_error_handling', { description: 'Always fails' }, async () => ({
    isError: true,
    content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }],
  }));
  server.registerTool('test_tool_with_progress', { description: 'Reports progress' }, async (extra) => {
    const token = extra._meta?.progressToken;
    for (const [i, progress] of [0, 50, 100].entries()) {
      if (i > 0) await sleep(50);
      if (token !== undefined)
        await extra.sendNotification({
          method: 'notifications/progress',
          params: { progressToken: token, progress, total: 100 },
        });
    }
    return text('Progress test completed');
  });
  server.registerTool(
    'test_sampling',
    { description: 'Asks the client to sample', inputSchema: { prompt: z.string() } },
    async ({ prompt }, extra) => {
      const result = await server.server.createMessage(
        { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 100 },
        { relatedRequestId: extra.requestId },
      );
      const reply = result.content.type === 'text' ? result.content.text : JSON.stringify(result.content);
      return text(`LLM response: ${reply}`);
    },
  );
  server.registerTool(
    'test_elicitation',
    { description: 'Asks the user', inputSchema: { message: z.string() } },
    async ({ message }, extra) => {
      const result = await server.server.elicitInput(
        {
          message,
          requestedSchema: {
            type: 'object',
            properties: {
              username: { type: 'string', description: "User's response" },
              email: { type: 'string', description: "User's email address" },
            },
            required: ['username', 'email'],
          },
        },
        { relatedRequestId: extra.requestId },
      );
      return text(`User response: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
    },
  );
  server.registerTool(
    'test_elicitation_sep1034_defaults',
    { description: 'Elicitation with defaults' },
    async (extra) => {
      const result = await server.server.elicitInput(
        {
          message: 'Please review and update the form fields with defaults',
          requestedSchema: {
            type: 'object',
            properties: {
              name: { type: 'string', description: 'User name', default: 'John Doe' },
              age: { type: 'integer', description: 'User age', default: 30 },
              score: { type: 'number', description: 'User score', default: 95.5 },
              status: {
                type: 'string',
                description: 'User status',
                enum: ['active', 'inactive', 'pending'],
                default: 'active',
              },
              verified: { type: 'boolean', description: 'Verification status', default: true },
            },
            required: [],
          },
        },
        { relatedRequestId: extra.requestId },
      );
      return text(`Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
    },
  );
  server.registerTool(
    'test_elicitation_sep1330_enums',
    { description: 'Elicitation with enum schemas' },
    async (extra) => {
      const result = await server.server.elicitInput(
        {
          message: 'Please select options from the enum fields',
          requestedSchema: {
            type: 'object',
            properties: {
              untitledSingle: {
                type: 'string',
                description: 'Untitled single-select',
                enum: ['option1', 'option2', 'option3'],
              },
              titledSingle: {
                type: 'string',
                description: 'Titled single-select',
                oneOf: [
                  { const: 'value1', title: 'First Option' },
                  { const: 'value2', title: 'Second Option' },
                  { const: 'value3', title: 'Third Option' },
                ],
              },
              legacyEnum: {
                type: 'string',
                description: 'Legacy titled enum',
                enum: ['opt1', 'opt2', 'opt3'],
                enumNames: ['Option One', 'Option Two', 'Option Three'],
              },
              untitledMulti: {
                type: 'array',
                description: 'Untitled multi-select',
                items: { type: 'string', enum: ['option1', 'option2', 'option3'] },
              },
              titledMulti: {
                type: 'array',
                description: 'Titled multi-select',
                items: {
                  anyOf: [
                    { const: 'value1', title: 'First Choice' },
                    { const: 'value2', title: 'Second Choice' },
                    { const: 'value3', title: 'Third Choice' },
                  ],
                },
              },
            },
            required: [],
          },
        },
        { relatedRequestId: extra.requestId },
      );
      return text(`Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
    },
  );
  server.registerTool(
    'json_schema_2020_12_tool',
    {
      description: 'Tool with JSON Schema 2020-12 features',
      inputSchema: z.strictObject({
        name: z.string().optional(),
        address: z.object({ street: z.string(), city: z.string() }).partial().optional(),
      }),
    },
    async () => text('ok'),
  );
  // SEP-1699: the server ends the request's SSE stream mid-call; the client resumes with Last-Event-ID.
  server.registerTool('test_reconnection', { description: 'Closes its SSE stream mid-call' }, async (extra) => {
    await sleep(50);
    extra.closeSSEStream?.();
    await sleep(200);
    return text('Reconnection test completed');
  });
};

/** The suite's resources whose content is fixed: the same in both eras. */
const FIXED_RESOURCES: {
  name: string;
  uri: string;
  description: string;
  mimeType: string;
  body: { text: string } | { blob: string };
}[] = [
  {
    name: 'static-text',
    uri: 'test://static-text',
    description: 'A static text resource',
    mimeType: 'text/plain',
    body: { text: 'This is the content of the static text resource.' },
  },
  {
    name: 'static-binary',
    uri: 'test://static-binary',
    description: 'A static binary resource',
    mimeType: 'image/png',
    body: { blob: PNG },
  },
  {
    name: 'watched-resource',
    uri: 'test://watched-resource',
    description: 'A resource to subscribe to',
    mimeType: 'text/plain',
    body: { text: 'Watched resource content' },
  },
];

/** The suite's resource template `test://template/{id}/data`, read in either era. */
const TEMPLATE = {
  name: 'template',
  uriTemplate: 'test://template/{id}/data',
  metadata: { description: 'A resource template', mimeType: 'application/json' },
  read: (uri: URL, id: unknown) => ({
    contents: [
      {
        uri: uri.href,
        mimeType: 'application/json',
        text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${String(id)}` }),
      },
    ],
  }),
};

const registerResources = (server: McpServer): void => {
  for (const { name, uri, description, mimeType, body } of FIXED_RESOURCES) {
    server.registerResource(name, uri, { description, mimeType }, async () => ({
      contents: [{ uri, mimeType, ...body }],
    }));
  }
  server.registerResource(
    TEMPLATE.name,
    new ResourceTemplate(TEMPLATE.uriTemplate, { list: undefined }),
    TEMPLATE.metadata,
    async (uri, { id }) => TEMPLATE.read(uri, id),
  );
  server.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });
  server.server.setRequestHandler(SubscribeRequestSchema, async () => ({}));
  server.server.setRequestHandler(UnsubscribeRequestSchema, async () => ({}));
};

/** The suite's prompts, the same messages in both eras. */
const PROMPTS = {
  simple: (): GetPromptResult => ({
    messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }],
  }),
  withArguments: (arg1: string, arg2: string): GetPromptResult => ({
    messages: [
      { role: 'user', content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } },
    ],
  }),
  embeddedResource: (resourceUri: string): GetPromptResult => ({
    messages: [
      {
        role: 'user',
        content: {
          type: 'resource',
          resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' },
        },
      },
      { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
    ],
  }),
  image: (): GetPromptResult => ({
    messages: [
      { role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } },
      { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
    ],
  }),
};

const registerPrompts = (server: McpServer): void => {
  server.registerPrompt('test_simple_prompt', { description: 'A simple prompt' }, () => PROMPTS.simple());
  server.registerPrompt(
    'test_prompt_with_arguments',
    {
      description: 'A prompt with arguments',
      argsSchema: {
        arg1: completable(z.string(), (value) => ['paris', 'park', 'party'].filter((word) => word.startsWith(value))),
        arg2: z.string(),
      },
    },
    ({ arg1, arg2 }) => PROMPTS.withArguments(arg1, arg2),
  );
  server.registerPrompt(
    'test_prompt_with_embedded_resource',
    { description: 'A prompt with a resource', argsSchema: { resourceUri: z.string() } },
    ({ resourceUri }) => PROMPTS.embeddedResource(resourceUri),
  );
  server.registerPrompt('test_prompt_with_image', { description: 'A prompt with an image' }, () => PROMPTS.image());
};

// SEP-1613: tools/list must carry a 2020-12 inputSchema as written. The SDK renders zod as draft-07, so
// the listing of this one fixture is replaced after the SDK built it (its handler map is not public).
const SCHEMA_2020_12 = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  $defs: {
    address: {
      $anchor: 'addressDef',
      type: 'object',
      properties: { street: { type: 'string' }, city: { type: 'string' } },
    },
  },
  properties: {
    name: { type: 'string' },
    address: { $ref: '#/$defs/address' },
    contactMethod: { type: 'string', enum: ['phone', 'email'] },
    phone: { type: 'string' },
    email: { type: 'string' },
  },
  // SEP-2106: composition and conditional keywords must reach the client as written.
  allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
  if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
  then: { required: ['phone'] },
  else: { required: ['email'] },
  additionalProperties: false,
};
type Handler = (request: unknown, extra: unknown) => Promise<{ tools: { name: string; inputSchema: unknown }[] }>;
const preserve2020Schema = (server: McpServer): void => {
  const handlers = (server.server as unknown as { _requestHandlers: Map<string, Handler> })._requestHandlers;
  const list = handlers.get('tools/list');
  if (!list) return;
  handlers.set('tools/list', async (request, extra) => {
    const result = await list(request, extra);
    for (const tool of result.tools) if (tool.name === 'json_schema_2020_12_tool') tool.inputSchema = SCHEMA_2020_12;
    return result;
  });
};

export const registerFixtures = (server: McpServer, _caller: ToolCaller): void => {
  registerTools(server);
  preserve2020Schema(server);
  registerResources(server);
  registerPrompts(server);
};

// ---- The 2026-07-28 path (SDK v2, one server per request): the same names and results as above, plus
// the fixtures the 2026 scenarios call (server-stateless diagnostics, input_required rounds, listen
// triggers, a header-mirrored argument). A 2026 server never sends requests to the client: what it
// needs from the user comes back as `inputResponses` on a retry (MCP 2026-07-28 input-required results).

const nameForm = {
  type: 'object' as const,
  properties: { name: { type: 'string' as const } },
  required: ['name'],
};
const confirmForm = {
  type: 'object' as const,
  properties: { ok: { type: 'boolean' as const } },
  required: ['ok'],
};
const modernText = (value: string): ModernCallToolResult => ({ content: [{ type: 'text', text: value }] });
const ask = (message: string) => inputRequired.elicit({ message, requestedSchema: nameForm });
const sample = (prompt: string, maxTokens: number) =>
  inputRequired.createMessage({ messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens });
const samplingText = (response: unknown): string | undefined => {
  const content = (response as { content?: { text?: unknown } } | undefined)?.content;
  return typeof content?.text === 'string' ? content.text : undefined;
};
const rootsOf = (response: unknown): { uri?: string }[] | undefined => {
  const roots = (response as { roots?: unknown } | undefined)?.roots;
  return Array.isArray(roots) ? (roots as { uri?: string }[]) : undefined;
};
const empty = z.object({});

const registerModernBasics = (server: ModernMcpServer): void => {
  for (const { name, description, result } of FIXED_TOOLS)
    server.registerTool(name, { description }, async () => result as ModernCallToolResult);
  server.registerTool(
    'test_tool_with_logging',
    { description: 'Logs three messages', inputSchema: empty },
    async (_args, ctx) => {
      for (const [i, data] of [
        'Tool execution started',
        'Tool processing data',
        'Tool execution completed',
      ].entries()) {
        if (i > 0) await sleep(50);
        await ctx.mcpReq.notify({ method: 'notifications/message', params: { level: 'info', data } });
      }
      return modernText('Logging test completed');
    },
  );
  server.registerTool('test_error_handling', { description: 'Always fails' }, async () => ({
    isError: true,
    content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }],
  }));
  server.registerTool(
    'test_tool_with_progress',
    { description: 'Reports progress', inputSchema: empty },
    async (_args, ctx) => {
      // Progress only against a token the client sent (MCP basic/utilities/progress).
      const token = ctx.mcpReq._meta?.progressToken;
      for (const [i, progress] of [0, 50, 100].entries()) {
        if (i > 0) await sleep(50);
        if (token !== undefined)
          await ctx.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken: token, progress, total: 100 },
          });
      }
      return modernText('Progress test completed');
    },
  );
  server.registerTool(
    'json_schema_2020_12_tool',
    {
      description: 'Tool with JSON Schema 2020-12 features',
      inputSchema: fromJsonSchema<Record<string, unknown>>(SCHEMA_2020_12 as JsonSchemaType),
    },
    async () => modernText('ok'),
  );
};

const registerModernDiagnostics = (server: ModernMcpServer, context: ModernContext): void => {
  // SEP-2243: an argument mirrored into an `Mcp-Param-Region` header, checked against the body.
  server.registerTool(
    'test_x_mcp_header',
    {
      description: 'An argument mirrored into the Mcp-Param-Region header',
      inputSchema: fromJsonSchema<{ region?: string; level?: number }>({
        type: 'object',
        properties: {
          region: { type: 'string', 'x-mcp-header': 'Region' },
          level: { type: 'integer' },
        },
      } as JsonSchemaType),
    },
    async (args) => modernText(`region=${args.region ?? '<none>'}`),
  );
  server.registerTool(
    'test_missing_capability',
    { description: 'Needs the sampling client capability', inputSchema: empty },
    async (_args, ctx) =>
      ctx.mcpReq.inputResponses?.['llm_answer'] === undefined
        ? inputRequired({ inputRequests: { llm_answer: sample('Reply with the single word: pong', 16) } })
        : modernText('sampling round-trip complete'),
  );
  server.registerTool(
    'test_streaming_elicitation',
    { description: 'Answers with result frames only', inputSchema: empty },
    async () => modernText('no server-to-client request on this stream'),
  );
  server.registerTool(
    'test_logging_tool',
    { description: 'Logs through the request-scoped channel', inputSchema: empty },
    async (_args, ctx) => {
      // Delivered only when the request set a log level (MCP 2026-07-28 server/utilities/logging).
      await ctx.mcpReq.log('info', 'test_logging_tool ran');
      return modernText('logged');
    },
  );
  server.registerTool(
    'test_trigger_tool_change',
    { description: 'Publishes tools/list_changed', inputSchema: empty },
    async () => {
      context.notify.toolsChanged();
      return modernText('tools_list_changed published');
    },
  );
  server.registerTool(
    'test_trigger_prompt_change',
    { description: 'Publishes prompts/list_changed', inputSchema: empty },
    async () => {
      context.notify.promptsChanged();
      return modernText('prompts_list_changed published');
    },
  );
};

const registerModernInputRequired = (server: ModernMcpServer, context: ModernContext): void => {
  const { requestState } = context;
  server.registerTool(
    'test_input_required_result_elicitation',
    { description: 'Asks for a name in an input_required result', inputSchema: empty },
    async (_args, ctx) => {
      const name = acceptedContent<{ name: string }>(ctx.mcpReq.inputResponses, 'user_name')?.name;
      if (typeof name !== 'string') return inputRequired({ inputRequests: { user_name: ask('What is your name?') } });
      return modernText(`Hello, ${name}!`);
    },
  );
  server.registerTool(
    'test_input_required_result_sampling',
    { description: 'Asks for a completion in an input_required result', inputSchema: empty },
    async (_args, ctx) => {
      const response = ctx.mcpReq.inputResponses?.['capital_question'];
      if (response === undefined)
        return inputRequired({ inputRequests: { capital_question: sample('What is the capital of France?', 100) } });
      return modernText(`Sampling response: ${samplingText(response) ?? JSON.stringify(response)}`);
    },
  );
  server.registerTool(
    'test_input_required_result_list_roots',
    { description: 'Asks for the roots in an input_required result', inputSchema: empty },
    async (_args, ctx) => {
      const roots = rootsOf(ctx.mcpReq.inputResponses?.['client_roots']);
      if (!roots) return inputRequired({ inputRequests: { client_roots: inputRequired.listRoots() } });
      return modernText(`Client exposed ${roots.length} root(s): ${roots.map((root) => root.uri).join(', ')}`);
    },
  );
  server.registerTool(
    'test_input_required_result_request_state',
    { description: 'Round-trips a sealed requestState', inputSchema: empty },
    async (_args, ctx) => {
      if (acceptedContent(ctx.mcpReq.inputResponses, 'confirm') === undefined)
        return inputRequired({
          inputRequests: { confirm: inputRequired.elicit({ message: 'Please confirm', requestedSchema: confirmForm }) },
          requestState: await requestState.mint({ tool: 'request_state', nonce: randomUUID() }, ctx),
        });
      if (ctx.mcpReq.requestState<Record<string, unknown>>()?.tool !== 'request_state')
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Invalid requestState');
      return modernText('state-ok: requestState verified and confirmation received');
    },
  );
  server.registerTool(
    'test_input_required_result_multiple_inputs',
    { description: 'Asks for a name, a completion and the roots at once', inputSchema: empty },
    async (_args, ctx) => {
      const responses = ctx.mcpReq.inputResponses;
      const name = acceptedContent<{ name: string }>(responses, 'user_name')?.name;
      const greeting = samplingText(responses?.['greeting']);
      const roots = rootsOf(responses?.['client_roots']);
      if (typeof name !== 'string' || greeting === undefined || !roots)
        return inputRequired({
          inputRequests: {
            user_name: ask('What is your name?'),
            greeting: sample('Generate a greeting', 50),
            client_roots: inputRequired.listRoots(),
          },
          requestState: await requestState.mint({ tool: 'multiple_inputs', nonce: randomUUID() }, ctx),
        });
      return modernText(`${greeting} ${name} — ${roots.length} root(s) visible`);
    },
  );
  server.registerTool(
    'test_input_required_result_multi_round',
    { description: 'Two rounds, the state carried in requestState', inputSchema: empty },
    async (_args, ctx) => {
      const state = ctx.mcpReq.requestState<Record<string, unknown>>();
      const round = state?.tool === 'multi_round' && typeof state.round === 'number' ? state.round : 0;
      if (round === 0)
        return inputRequired({
          inputRequests: { step1: ask('Step 1: What is your name?') },
          requestState: await requestState.mint({ tool: 'multi_round', round: 1 }, ctx),
        });
      if (round === 1) {
        const name = acceptedContent<{ name: string }>(ctx.mcpReq.inputResponses, 'step1')?.name ?? 'unknown';
        return inputRequired({
          inputRequests: {
            step2: inputRequired.elicit({
              message: 'Step 2: What is your favorite color?',
              requestedSchema: { type: 'object', properties: { color: { type: 'string' } }, required: ['color'] },
            }),
          },
          requestState: await requestState.mint({ tool: 'multi_round', round: 2, name }, ctx),
        });
      }
      const color = acceptedContent<{ color: string }>(ctx.mcpReq.inputResponses, 'step2')?.color ?? 'unknown';
      return modernText(`Multi-round complete: ${String(state?.name ?? 'unknown')} likes ${color}`);
    },
  );
  server.registerTool(
    'test_input_required_result_tampered_state',
    { description: 'Refuses a requestState that fails verification', inputSchema: empty },
    async (_args, ctx) => {
      // A tampered state never reaches here: the verify hook answers -32602 first.
      if (
        ctx.mcpReq.requestState() !== undefined &&
        acceptedContent(ctx.mcpReq.inputResponses, 'confirm') !== undefined
      )
        return modernText('integrity-ok: requestState verified');
      return inputRequired({
        inputRequests: { confirm: inputRequired.elicit({ message: 'Please confirm', requestedSchema: confirmForm }) },
        requestState: await requestState.mint({ tool: 'tampered_state', nonce: randomUUID() }, ctx),
      });
    },
  );
  server.registerTool(
    'test_input_required_result_capabilities',
    { description: 'Asks only for what the client declared it can answer', inputSchema: empty },
    async (_args, ctx) => {
      if (ctx.mcpReq.inputResponses !== undefined) return modernText('Capability-aware input requests fulfilled');
      // The capabilities the client declared on this request (MCP 2026-07-28 per-request `_meta`; the SDK
      // moves the envelope keys out of `_meta`).
      const envelope = ctx.mcpReq.envelope as Record<string, Record<string, unknown> | undefined> | undefined;
      const declared = envelope?.[CLIENT_CAPABILITIES_META_KEY];
      const inputRequests: InputRequests = {};
      if (declared?.elicitation !== undefined) inputRequests.user_name = ask('What is your name?');
      if (declared?.sampling !== undefined) inputRequests.greeting = sample('Generate a short greeting', 50);
      if (declared?.roots !== undefined) inputRequests.client_roots = inputRequired.listRoots();
      if (Object.keys(inputRequests).length === 0)
        return modernText('No declared client capability supports an in-band input request');
      return inputRequired({ inputRequests });
    },
  );
};

const registerModernResources = (server: ModernMcpServer): void => {
  for (const { name, uri, description, mimeType, body } of FIXED_RESOURCES) {
    server.registerResource(name, uri, { description, mimeType }, async () => ({
      contents: [{ uri, mimeType, ...body }],
    }));
  }
  server.registerResource(
    TEMPLATE.name,
    new ModernResourceTemplate(TEMPLATE.uriTemplate, { list: undefined }),
    TEMPLATE.metadata,
    async (uri, { id }) => TEMPLATE.read(uri, id),
  );
  server.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });
};

const registerModernPrompts = (server: ModernMcpServer): void => {
  server.registerPrompt('test_simple_prompt', { description: 'A simple prompt' }, () => PROMPTS.simple());
  server.registerPrompt(
    'test_prompt_with_arguments',
    { description: 'A prompt with arguments', argsSchema: z.object({ arg1: z.string(), arg2: z.string() }) },
    ({ arg1, arg2 }) => PROMPTS.withArguments(arg1, arg2),
  );
  server.registerPrompt(
    'test_prompt_with_embedded_resource',
    { description: 'A prompt with a resource', argsSchema: z.object({ resourceUri: z.string() }) },
    ({ resourceUri }) => PROMPTS.embeddedResource(resourceUri),
  );
  server.registerPrompt('test_prompt_with_image', { description: 'A prompt with an image' }, () => PROMPTS.image());
  server.registerPrompt('test_input_required_result_prompt', { description: 'Needs context first' }, (ctx) => {
    const context = acceptedContent<{ context: string }>(
      (ctx as ServerContext).mcpReq.inputResponses,
      'user_context',
    )?.context;
    if (typeof context !== 'string')
      return inputRequired({
        inputRequests: {
          user_context: inputRequired.elicit({
            message: 'What context should the prompt use?',
            requestedSchema: { type: 'object', properties: { context: { type: 'string' } }, required: ['context'] },
          }),
        },
      });
    return { messages: [{ role: 'user', content: { type: 'text', text: `Use the following context: ${context}` } }] };
  });
  server.server.registerCapabilities({ prompts: { listChanged: true }, completions: {} });
  server.server.setRequestHandler('completion/complete', async () => ({
    completion: { values: [], total: 0, hasMore: false },
  }));
};

export const registerModernFixtures = (server: ModernMcpServer, context: ModernContext): void => {
  // `logging` gates ctx.mcpReq.log; each request still opts in with its own log level.
  server.server.registerCapabilities({ tools: { listChanged: true }, logging: {} });
  registerModernBasics(server);
  registerModernDiagnostics(server, context);
  registerModernInputRequired(server, context);
  registerModernResources(server);
  registerModernPrompts(server);
};
