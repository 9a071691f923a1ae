// The tool-result wire of the error table. A failed tool call is a result with `isError: true` (MCP
// 2025-11-25 server/tools, "Error Handling": the model reads it), its text `code: message`, with the
// same stable snake_case DomainError codes that http/errors.ts maps for HTTP, OAuth and JSON-RPC.
// It sits in mcp/ because mcp/ may not import http/.
import { ErrorCode, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { DomainError } from '../../domain/shared.ts';
import { UnstorableEventError } from '../../eventstore/port.ts';

/** A tool's append refused (a safety net behind the tools' own argument schemas, define.ts). */
const UNSTORABLE_ARGUMENT = 'the arguments hold U+0000 or an unpaired surrogate, which cannot be stored';

/** A thrown value the caller may read, as a DomainError; undefined for a fault (logged, shown as internal_error). */
export const toolFailureOf = (thrown: unknown): DomainError | undefined =>
  thrown instanceof DomainError
    ? thrown
    : thrown instanceof UnstorableEventError
      ? new DomainError('invalid_arguments', UNSTORABLE_ARGUMENT)
      : undefined;

/** The text clients see, also kept in the call's audit event. */
export const toolErrorText = (error: DomainError): string => `${error.code}: ${error.message}`;

export const toolErrorResult = (error: DomainError): CallToolResult => ({
  content: [{ type: 'text', text: toolErrorText(error) }],
  isError: true,
});

/** An unknown tool, worded as the SDK's own tools/call handler words it. */
export const unknownToolResult = (name: string): CallToolResult => ({
  content: [{ type: 'text', text: `MCP error ${ErrorCode.InvalidParams}: Tool ${name} not found` }],
  isError: true,
});
