// The login and consent pages of the authorization flow: GET shows the form, POST (after parseForm +
// requireCsrf) records the answer and answers 303.
import type Koa from 'koa';
import type { HttpDeps } from '../deps.ts';
import type { PendingRequest } from '../../app/oauth/authorizations.ts';
import { DomainError } from '../../domain/shared.ts';
import { csrfToken } from '../csrf.ts';
import { formBody } from '../forms.ts';
import { publicUrlOf } from '../public-url.ts';
import { continueAfterSignIn, interactionUrl, seeOther } from './authorize.ts';
import { clearPending, loadPending } from './pending-cookie.ts';
import type { LoginGuard } from '../login-guard.ts';
import { need } from '../state.ts';

type Deps = Pick<HttpDeps, 'browserSessions' | 'config' | 'oauth' | 'users'>;

const SCOPE_TEXT: Record<string, string> = {
  'mcp:tools:read': 'List tools and call tools that only read',
  'mcp:tools:write': 'Call tools that change things (write files, store and delete memories)',
  openid: 'Know who you are (your account id)',
  profile: 'See your name',
  email: 'See your email address',
  offline_access: 'Stay connected while you are away',
};

/** Pages of the flow: never framed (clickjacking, RFC 9700 §4.16), never cached. */
export const pageHeaders: Koa.Middleware = async (ctx, next) => {
  ctx.set(
    'Content-Security-Policy',
    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
  );
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Referrer-Policy', 'same-origin');
  await next();
};

const requestId = (ctx: Koa.Context): string => (typeof ctx.query.request === 'string' ? ctx.query.request : '');

const clientView = async (services: Deps, pending: PendingRequest) => {
  const client = await services.oauth.clients.find(pending.clientId);
  if (!client) throw new DomainError('request_expired', 'the application is no longer registered');
  return {
    clientName: client.clientName,
    clientId: client.clientId,
    redirectTarget: new URL(pending.redirectUri).origin,
    redirectUri: pending.redirectUri,
    redirectHost: new URL(pending.redirectUri).host,
    // Anyone may register a client under any name (RFC 7591 §5: the name is not verified); a CIMD
    // client's name comes from a document on the host its id names, so that host is shown.
    unverified: client.source === 'dynamic',
    documentHost: client.source === 'metadata_document' ? new URL(client.clientId).host : undefined,
  };
};

const renderLogin = async (
  ctx: Koa.Context,
  services: Deps,
  pending: PendingRequest,
  extra: { error?: string; email?: string } = {},
) => {
  ctx.type = 'html';
  ctx.body = need(ctx.state, 'render')('oauth/login', {
    title: 'Sign in',
    csrf: csrfToken(ctx),
    action: interactionUrl(ctx, 'login', pending.grantId),
    ...(await clientView(services, pending)),
    ...extra,
  });
};

export const showLogin =
  (services: Deps): Koa.Middleware =>
  async (ctx) => {
    await renderLogin(ctx, services, await loadPending(ctx, services, requestId(ctx)));
  };

export const submitLogin =
  (services: Deps, guard: LoginGuard): Koa.Middleware =>
  async (ctx) => {
    const pending = await loadPending(ctx, services, requestId(ctx));
    const { email = '', password = '' } = formBody(ctx);
    // Throttles, password check and audit of a failed sign-in (bounded login-guard stream): http/login-guard.ts.
    const result = await guard.signIn(ctx, email, password);
    if (!result.ok) {
      await renderLogin(ctx, services, pending, { error: result.message, email: email.slice(0, 320) });
      ctx.status = result.status;
      if (result.retryAfter) ctx.set('Retry-After', result.retryAfter);
      return;
    }
    const { user } = result;
    await services.browserSessions.start(ctx, user.id, 'oauth');
    seeOther(ctx, await continueAfterSignIn(ctx, services, pending, { userId: user.id, at: new Date() }));
  };

export const showConsent =
  (services: Deps): Koa.Middleware =>
  async (ctx) => {
    const pending = await loadPending(ctx, services, requestId(ctx));
    const session = await services.browserSessions.current(ctx, 'oauth');
    if (!session) return seeOther(ctx, interactionUrl(ctx, 'login', pending.grantId));
    const user = await services.users.byId(session.userId);
    ctx.type = 'html';
    ctx.body = need(ctx.state, 'render')('oauth/consent', {
      title: 'Allow access',
      csrf: csrfToken(ctx),
      action: interactionUrl(ctx, 'consent', pending.grantId),
      userEmail: user?.email,
      scopes: pending.scopes.map((scope) => ({ scope, text: SCOPE_TEXT[scope] ?? scope })),
      ...(await clientView(services, pending)),
    });
  };

export const submitConsent =
  (services: Deps): Koa.Middleware =>
  async (ctx) => {
    const { authorizations } = services.oauth;
    const pending = await loadPending(ctx, services, requestId(ctx));
    const session = await services.browserSessions.current(ctx, 'oauth');
    if (!session) return seeOther(ctx, interactionUrl(ctx, 'login', pending.grantId));
    const decision = formBody(ctx).decision;
    if (decision !== 'approve' && decision !== 'deny')
      throw new DomainError('invalid_request', 'decision must be approve or deny');
    const location =
      decision === 'approve'
        ? await authorizations.approve(pending, session.userId, new Date(), false, new Date(), publicUrlOf(ctx))
        : await authorizations.deny(pending, session.userId, new Date(), publicUrlOf(ctx));
    clearPending(ctx, services, pending.grantId);
    seeOther(ctx, location);
  };
