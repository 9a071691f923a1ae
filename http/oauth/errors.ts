// RFC 6749 §5.2 error bodies for the JSON endpoints of the oauth area (token, register, revoke,
// introspect, userinfo): `{error, error_description}` with the status each code calls for. HTML pages
// of the area use the app-wide handler (http/errors.ts) instead.
import type Koa from 'koa';
import { ZodError } from 'zod';
import { DomainError, TemporarilyUnavailableError } from '../../domain/shared.ts';
import { HttpError, toHttpError } from '../errors.ts';
import { UnstorableEventError } from '../../eventstore/port.ts';

const STATUS: Record<string, number> = {
  invalid_client: 401,
  invalid_token: 401,
  insufficient_scope: 403,
  rate_limited: 429,
  too_many_requests: 429,
};

export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'OAuthError';
  }
}

const toOAuthError = (raw: unknown): OAuthError | undefined => {
  if (raw instanceof OAuthError) return raw;
  if (raw instanceof DomainError) return new OAuthError(STATUS[raw.code] ?? 400, raw.code, raw.message);
  if (raw instanceof TemporarilyUnavailableError)
    return new OAuthError(503, 'temporarily_unavailable', raw.message, {
      'Retry-After': String(raw.retryAfterSeconds),
    });
  // Input with U+0000 or an unpaired surrogate reached a command: refused, nothing written.
  if (raw instanceof UnstorableEventError)
    return new OAuthError(400, 'invalid_request', 'the request holds U+0000 or an unpaired surrogate');
  if (raw instanceof ZodError) {
    const issue = raw.issues[0];
    return new OAuthError(
      400,
      'invalid_request',
      issue ? `${issue.path.join('.') || 'input'}: ${issue.message}` : 'invalid request',
    );
  }
  if (raw instanceof HttpError && raw.status < 500) {
    return new OAuthError(
      raw.status,
      raw.status === 429 ? 'rate_limited' : raw.status === 403 ? raw.code : 'invalid_request',
      raw.message,
      raw.headers,
    );
  }
  const status = (raw as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500)
    return new OAuthError(status, 'invalid_request', (raw as Error).message);
  // What the app-wide table knows to be the caller's fault (e.g. a value the database refuses).
  const mapped = toHttpError(raw);
  if (mapped.status < 500) return new OAuthError(mapped.status, 'invalid_request', mapped.message, mapped.headers);
  return undefined;
};

export const oauthJsonErrors: Koa.Middleware = async (ctx, next) => {
  try {
    await next();
  } catch (raw) {
    const error = toOAuthError(raw);
    if (!error) throw raw;
    ctx.status = error.status;
    ctx.set(error.headers);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { error: error.code, error_description: error.message };
  }
};

/** RFC 6749 §5.1 / RFC 9700: token-bearing responses are never cached. */
export const noStore: Koa.Middleware = async (ctx, next) => {
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
  await next();
};
