// What the middleware of this app leave on `ctx.state`, declared once for Koa (its DefaultState is
// otherwise `any`). Each field is set by one middleware, named beside it; handlers further down read it
// through `need`, which fails loudly if the pipeline was put together without that middleware.
import type { Logger } from '../app/logger.ts';
import type { Config } from '../app/config.ts';
import type { Client } from '../domain/clients/index.ts';
import type { McpCaller } from '../mcp/index.ts';

/** A signed-in administrator of the panel. */
export type AdminUser = { id: string; email: string; sessionId: string; expiresAt: Date };

/** What cookie and CSRF code need of the server: the cookie settings and the HMAC key. */
export type SiteKeys = { readonly config: Config; readonly secret: Buffer };

export type Render = (name: string, locals?: Record<string, unknown>) => string;

export type AppState = {
  /** http/request.ts */
  requestId?: string;
  log?: Logger;
  /** http/app.ts */
  render?: Render;
  site?: SiteKeys;
  /** http/public-url.ts: the base URL this request was answered under. */
  publicUrl?: string;
  /** http/csrf.ts: the CSRF cookie set during this request, before the browser echoes it. */
  csrfCookie?: string;
  /** http/abort.ts */
  abortSignal?: AbortSignal;
  /** http/admin/auth.ts: the signed-in administrator. */
  admin?: AdminUser;
  /** http/oauth/client-auth.ts: the authenticated OAuth client. */
  client?: Client;
  /** http/mcp/auth.ts: the bearer of the access token on /mcp. */
  caller?: McpCaller;
};

declare module 'koa' {
  interface DefaultState extends AppState {}
}

/** A state field an earlier middleware of this pipeline must have set. */
export const need = <K extends keyof AppState>(state: AppState, key: K): NonNullable<AppState[K]> => {
  const value = state[key];
  if (value === undefined || value === null) throw new Error(`ctx.state.${key} is not set: a middleware is missing`);
  return value as NonNullable<AppState[K]>;
};
