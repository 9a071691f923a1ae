// How a tool is declared: once, with zod input and output schemas. JSON Schema for tools/list, argument
// validation, structuredContent and the text rendering all come from this one declaration.
import { z } from 'zod';
import type { ContentBlock, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { DomainError } from '../../domain/shared.ts';
import { findUnstorable } from '../../eventstore/storable.ts';

/** Who is calling, for scope checks and the audit events of every tool call. */
export type ToolCaller = {
  readonly userId: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly sessionId: string | undefined;
  readonly tokenId: string | undefined;
};

/**
 * A refusal or failure the caller should read: a DomainError with a stable code, so it maps like any
 * other; a tool call answers it as an `isError` result "code: message" (mcp/tools/errors.ts).
 */
export class ToolError extends DomainError {
  override readonly name = 'ToolError';
}

/** How far a long call got (MCP basic/utilities/progress): `progress` only ever grows, `total` when known. */
export type ToolProgress = { readonly progress: number; readonly total?: number; readonly message?: string };

export type ToolContext = {
  readonly caller: ToolCaller;
  readonly callId: string;
  readonly now: Date;
  readonly signal: AbortSignal;
  /** Reports progress to whoever asked for it (a progressToken, a task); absent when nobody did. */
  readonly progress?: ((report: ToolProgress) => void) | undefined;
};

export type ToolSpec<I extends z.ZodObject, O extends z.ZodObject> = {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  /** OAuth scope the caller's token must carry (domain/scopes.ts). */
  readonly scope: string;
  readonly input: I;
  readonly output: O;
  /** MCP 2025-11-25 tool annotations (hints for clients; never trusted for security). */
  readonly annotations: {
    readOnlyHint: boolean;
    destructiveHint: boolean;
    idempotentHint: boolean;
    openWorldHint: boolean;
  };
  readonly run: (args: z.output<I>, context: ToolContext) => Promise<z.output<O>>;
  /** Content blocks shown to the model; default: a JSON rendering of the structured result. */
  readonly render?: (result: z.output<O>) => ContentBlock[];
};

/** A declared tool with its types erased, as the registry holds it. */
export type Tool = {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly scope: string;
  readonly input: z.ZodObject;
  readonly output: z.ZodObject;
  readonly annotations: ToolAnnotations;
  /** JSON Schema (draft 2020-12) of the arguments and of structuredContent. */
  readonly inputJsonSchema: Record<string, unknown>;
  readonly outputJsonSchema: Record<string, unknown>;
  /** Validates the arguments, runs the tool, validates and renders its result. */
  readonly call: (
    args: unknown,
    context: ToolContext,
  ) => Promise<{ structured: Record<string, unknown>; content: ContentBlock[] }>;
};

export const renderJson = (value: unknown): ContentBlock[] => [{ type: 'text', text: JSON.stringify(value, null, 2) }];

const jsonSchema = (schema: z.ZodObject, io: 'input' | 'output'): Record<string, unknown> =>
  // MCP 2025-11-25 (SEP-1613): tool schemas default to JSON Schema 2020-12; zod 4 emits it and keeps .describe() texts.
  z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<string, unknown>;

export const defineTool = <I extends z.ZodObject, O extends z.ZodObject>(spec: ToolSpec<I, O>): Tool => ({
  name: spec.name,
  title: spec.title,
  description: spec.description,
  scope: spec.scope,
  input: spec.input,
  output: spec.output,
  annotations: { title: spec.title, ...spec.annotations },
  inputJsonSchema: jsonSchema(spec.input, 'input'),
  outputJsonSchema: jsonSchema(spec.output, 'output'),
  async call(args, context) {
    const parsed = spec.input.safeParse(args ?? {});
    if (!parsed.success) throw new ToolError('invalid_arguments', z.prettifyError(parsed.error));
    const result = await spec.run(parsed.data, context);
    // The output schema is a promise to clients: a tool that breaks it is a bug, reported as one.
    const checked = spec.output.parse(result) as z.output<O>;
    return {
      structured: checked as Record<string, unknown>,
      content: spec.render ? spec.render(checked) : renderJson(checked),
    };
  },
});

/**
 * For tools that store their arguments' text as given (memory): arguments holding U+0000 or an unpaired
 * surrogate, which PostgreSQL cannot store, are refused before the tool runs. Refused, not replaced with
 * U+FFFD: a note must come back exactly as it was stored.
 */
export const refusingUnstorableText = (tool: Tool): Tool => ({
  ...tool,
  call: (args, context) => {
    const path = findUnstorable(args);
    if (path !== undefined)
      throw new ToolError(
        'invalid_arguments',
        `${path === '$' ? 'arguments' : path.slice(2)}: holds U+0000 or an unpaired surrogate, which cannot be stored`,
      );
    return tool.call(args, context);
  },
});
