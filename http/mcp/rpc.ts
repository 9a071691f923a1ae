// JSON-RPC error answers for /mcp (SPEC: JSON-RPC errors for bad JSON-RPC; 404 for unknown sessions).
import type Koa from 'koa';

/** JSON-RPC 2.0 §5.1 codes; -32000/-32001 are the SDK's server-defined ones (generic, session not found). */
export const RPC = {
  parseError: -32700,
  invalidRequest: -32600,
  invalidParams: -32602,
  serverError: -32000,
  sessionNotFound: -32001,
} as const;

export const rpcError = (
  ctx: Koa.Context,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): void => {
  ctx.status = status;
  ctx.set(headers);
  ctx.type = 'application/json';
  ctx.body = { jsonrpc: '2.0', error: { code, message }, id: null };
};
