// The one place errors become answers. One table maps each stable snake_case code to its HTTP status;
// one formatter per wire turns the result into a body: RFC 9457 problem details (or an HTML page) for
// pages and APIs, RFC 6749 §5.2 `{error, error_description}` for the OAuth endpoints, and JSON-RPC 2.0
// error objects for /mcp.
import type Koa from 'koa';
import { ZodError } from 'zod';
import { DomainError, TemporarilyUnavailableError } from '../domain/shared.ts';
import { UnstorableEventError, WrongExpectedVersionError } from '../eventstore/port.ts';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly expose = status < 500,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Code → HTTP status. A code not listed is the caller's input being refused: 400. */
export const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  // RFC 6749 §5.2: a failed client authentication is 401 (with a challenge when Basic was used).
  invalid_client: 401,
  // RFC 6750 §3.1.
  invalid_token: 401,
  insufficient_scope: 403,
  unauthorized: 401,
  login_required: 401,
  forbidden: 403,
  forbidden_host: 403,
  forbidden_origin: 403,
  csrf_failed: 403,
  not_found: 404,
  client_not_found: 404,
  user_not_found: 404,
  session_not_found: 404,
  projection_not_found: 404,
  note_not_found: 404,
  entity_not_found: 404,
  conflict: 409,
  user_exists: 409,
  client_exists: 409,
  grant_exists: 409,
  session_exists: 409,
  note_exists: 409,
  rebuild_running: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  too_many_requests: 429,
  internal_error: 500,
  temporarily_unavailable: 503,
};

export const statusOfCode = (code: string): number => STATUS_OF_CODE[code] ?? 400;

/** Codes registered for the OAuth wire: RFC 6749 §4.1.2.1 / §5.2, RFC 6750 §3.1, RFC 7591 §3.2.2, RFC 8707 §2. */
const OAUTH_CODES: ReadonlySet<string> = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'unsupported_token_type',
  'invalid_scope',
  'invalid_token',
  'insufficient_scope',
  'invalid_redirect_uri',
  'invalid_client_metadata',
  'invalid_target',
  'temporarily_unavailable',
  'rate_limited',
]);

const isDataException = (error: unknown): boolean => {
  const code = (error as { code?: unknown; severity?: unknown } | null)?.code;
  return typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code) && 'severity' in (error as object);
};

/** Any thrown value as an HttpError: its status from the table, its message only if it may be shown. */
export const toHttpError = (error: unknown): HttpError => {
  if (error instanceof HttpError) return error;
  if (error instanceof DomainError) return new HttpError(statusOfCode(error.code), error.code, error.message);
  if (error instanceof TemporarilyUnavailableError)
    return new HttpError(503, 'temporarily_unavailable', error.message, true, {
      'Retry-After': String(error.retryAfterSeconds),
    });
  if (error instanceof ZodError) {
    const issue = error.issues[0];
    return new HttpError(
      400,
      'invalid_request',
      issue ? `${issue.path.join('.') || 'input'}: ${issue.message}` : 'invalid input',
    );
  }
  // PostgreSQL class 22 "data exception" (a NUL byte, a malformed uuid, a number out of range): a value
  // from the request that the database cannot take. The caller's mistake, not a server fault.
  if (isDataException(error))
    return new HttpError(
      400,
      'invalid_request',
      'a value in the request cannot be used here (a malformed id, a number out of range, or a NUL character)',
    );
  if (error instanceof WrongExpectedVersionError)
    return new HttpError(409, 'conflict', 'the resource changed meanwhile; try again');
  // Input that reached a command with U+0000 or an unpaired surrogate: refused, nothing written.
  if (error instanceof UnstorableEventError)
    return new HttpError(
      400,
      'invalid_request',
      'the input holds U+0000 or an unpaired surrogate, which cannot be stored',
    );
  // Koa's own errors (body parser limits, ctx.throw): keep their status, never their internals.
  const status = (error as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpError(
      status,
      status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : 'bad_request',
      (error as Error).message,
    );
  }
  return new HttpError(500, 'internal_error', 'internal server error', false);
};

const logRefusal = (ctx: Koa.Context, raw: unknown, error: HttpError): void => {
  // A refusal for lack of capacity (503) is expected under load: one line, no stack.
  if (error.status === 503) ctx.state.log?.warn({ code: error.code }, error.message);
  else if (isDataException(raw)) ctx.state.log?.warn({ err: raw }, 'request refused: the database cannot take a value');
  else if (error.status >= 500) ctx.state.log?.error({ err: raw }, 'request failed');
};

// --- Wire 1: pages and APIs (RFC 9457 problem details, or an HTML page for a browser's GET) ---

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Sign-in required',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  413: 'Too large',
  429: 'Too many requests',
  500: 'Something went wrong',
  503: 'Temporarily unavailable',
};

export const titleOf = (status: number): string => TITLES[status] ?? 'Error';

/** Outermost middleware: logs unexpected errors with the request id, answers without stack traces. */
export const errorHandler = (): Koa.Middleware => async (ctx, next) => {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined)
      throw new HttpError(404, 'not_found', `no route for ${ctx.method} ${ctx.path}`);
  } catch (raw) {
    const error = toHttpError(raw);
    logRefusal(ctx, raw, error);
    ctx.status = error.status;
    ctx.set(error.headers);
    const detail = error.expose ? error.message : 'internal server error';
    if (ctx.accepts('json', 'html') === 'html' && ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body = ctx.state.render
        ? ctx.state.render('error', {
            status: error.status,
            title: titleOf(error.status),
            detail,
            requestId: ctx.state.requestId,
          })
        : `<!doctype html><title>${error.status}</title><p>${error.status}</p>`;
      return;
    }
    ctx.type = 'application/problem+json';
    ctx.body = {
      type: 'about:blank',
      title: titleOf(error.status),
      status: error.status,
      code: error.code,
      detail,
      requestId: ctx.state.requestId,
    };
  }
};

// --- Wire 2: the JSON endpoints of the OAuth area (token, register, revoke, introspect, userinfo) ---

/** The code an OAuth client may read: a registered one, else the nearest generic one (RFC 6749 §5.2). */
const oauthCodeOf = (raw: unknown, error: HttpError): string => {
  if (raw instanceof DomainError || OAUTH_CODES.has(error.code)) return error.code;
  if (error.status === 429) return 'rate_limited';
  if (error.status === 403) return error.code;
  return 'invalid_request';
};

/** `{error, error_description}`, never cached; server faults go on to the app-wide handler. */
export const oauthJsonErrors: Koa.Middleware = async (ctx, next) => {
  try {
    await next();
  } catch (raw) {
    const error = toHttpError(raw);
    if (error.status >= 500 && error.status !== 503) throw raw;
    logRefusal(ctx, raw, error);
    ctx.status = error.status;
    ctx.set(error.headers);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { error: oauthCodeOf(raw, error), error_description: error.message };
  }
};

// --- Wire 3: JSON-RPC 2.0 for /mcp ---

/**
 * JSON-RPC 2.0 §5.1 codes; -32000/-32001 are the SDK's server-defined ones (generic, session not found);
 * -32020..-32022 are MCP 2026-07-28's (basic/transports: a header that disagrees with the body, a
 * capability the client did not declare, a protocol version the server does not speak).
 */
export const RPC = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  serverError: -32000,
  sessionNotFound: -32001,
  headerMismatch: -32020,
  missingClientCapability: -32021,
  unsupportedProtocolVersion: -32022,
} as const;

export type RpcCode = (typeof RPC)[keyof typeof RPC];

export const rpcError = (
  ctx: Koa.Context,
  status: number,
  code: RpcCode,
  message: string,
  headers: Record<string, string> = {},
  data?: Record<string, unknown>,
): void => {
  ctx.status = status;
  ctx.set(headers);
  ctx.type = 'application/json';
  ctx.body = { jsonrpc: '2.0', error: data ? { code, message, data } : { code, message }, id: null };
};

/** Errors thrown on /mcp (authentication, Origin, rate limits) answer in the endpoint's own shape. */
export const jsonRpcErrors: Koa.Middleware = async (ctx, next) => {
  try {
    await next();
  } catch (raw) {
    const error = toHttpError(raw);
    logRefusal(ctx, raw, error);
    const message = error.expose ? error.message : 'internal server error';
    const code = error.status >= 500 && error.status !== 503 ? RPC.internalError : RPC.serverError;
    rpcError(ctx, error.status, code, message, error.headers, { code: error.code, requestId: ctx.state.requestId });
  }
};
