// The one place errors become HTTP responses: stable snake_case codes, the status, whether the message
// may be shown, and HTML vs JSON (RFC 9457 problem details) chosen by the client's Accept header.
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

const isDataException = (error: unknown): boolean => {
  const code = (error as { code?: unknown; severity?: unknown } | null)?.code;
  return typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code) && 'severity' in (error as object);
};

const DOMAIN_STATUS: Record<string, number> = { user_not_found: 404, user_exists: 409, forbidden: 403 };

export const toHttpError = (error: unknown): HttpError => {
  if (error instanceof HttpError) return error;
  if (error instanceof DomainError)
    return new HttpError(
      DOMAIN_STATUS[error.code] ?? (error.code.endsWith('_not_found') ? 404 : 400),
      error.code,
      error.message,
    );
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

/** Outermost middleware: logs unexpected errors with the request id, answers without stack traces. */
export const errorHandler = (): Koa.Middleware => async (ctx, next) => {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined)
      throw new HttpError(404, 'not_found', `no route for ${ctx.method} ${ctx.path}`);
  } catch (raw) {
    const error = toHttpError(raw);
    // A refusal for lack of capacity (503) is expected under load: one line, no stack.
    if (error.status === 503) ctx.state.log?.warn({ code: error.code }, error.message);
    else if (isDataException(raw))
      ctx.state.log?.warn({ err: raw }, 'request refused: the database cannot take a value');
    else if (error.status >= 500) ctx.state.log?.error({ err: raw }, 'request failed');
    ctx.status = error.status;
    ctx.set(error.headers);
    const detail = error.expose ? error.message : 'internal server error';
    if (ctx.accepts('json', 'html') === 'html' && ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body = ctx.state.render
        ? ctx.state.render('error', {
            status: error.status,
            title: TITLES[error.status] ?? 'Error',
            detail,
            requestId: ctx.state.requestId,
          })
        : `<!doctype html><title>${error.status}</title><p>${error.status}</p>`;
      return;
    }
    ctx.type = 'application/problem+json';
    ctx.body = {
      type: 'about:blank',
      title: TITLES[error.status] ?? 'Error',
      status: error.status,
      code: error.code,
      detail,
      requestId: ctx.state.requestId,
    };
  }
};
