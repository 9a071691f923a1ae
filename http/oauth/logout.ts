// OpenID Connect RP-Initiated Logout 1.0: GET/POST /oauth/logout (§2) ends this browser's sign-in and
// returns to a registered post_logout_redirect_uri (§3). Grants and their tokens stay: connected
// applications keep working; only the browser must sign in again.
import type Koa from 'koa';
import type { HttpDeps } from '../deps.ts';
import { verifyIdTokenHint, type IdTokenHint } from '../../app/oauth/id-token-hint.ts';
import type { Client } from '../../domain/clients/index.ts';
import { csrfToken } from '../csrf.ts';
import { formBody } from '../forms.ts';
import { seeOther } from './authorize.ts';
import { need } from '../state.ts';

type Deps = Pick<HttpDeps, 'browserSessions' | 'config' | 'oauth' | 'users'>;

type LogoutRequest = {
  hint: IdTokenHint | undefined;
  client: Client | undefined;
  redirectUri: string | undefined;
  state: string | undefined;
};

/** A refused request: a page, never a redirect (§3: only a registered URI is ever redirected to). */
class LogoutRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const text = (value: unknown): string | undefined => {
  if (typeof value !== 'string' || value === '') return undefined;
  // Echoed or compared exactly, so refused rather than cut short.
  if (value.length > 4_000) throw new LogoutRefused('invalid_request', 'a parameter is too long');
  return value;
};

const params = (ctx: Koa.Context): Record<string, unknown> => (ctx.method === 'GET' ? ctx.query : formBody(ctx));

const resolve = async (services: Deps, input: Record<string, unknown>, allowHint: boolean): Promise<LogoutRequest> => {
  const rawHint = allowHint ? text(input.id_token_hint) : undefined;
  // A hint that is not our valid ID token counts as absent: the user is asked instead (§2).
  const hint = rawHint ? await verifyIdTokenHint(services.oauth.keys, services.config.publicUrl, rawHint) : undefined;
  const clientId = text(input.client_id);
  // §2: with both, the client_id must be the one the ID token was issued to.
  if (clientId && hint && !hint.clientIds.includes(clientId))
    throw new LogoutRefused('invalid_request', 'client_id does not match the id_token_hint');
  const client = await (async () => {
    const id = clientId ?? (hint?.clientIds.length === 1 ? hint.clientIds[0] : undefined);
    return id ? services.oauth.clients.find(id) : undefined;
  })();
  const redirectUri = text(input.post_logout_redirect_uri);
  if (redirectUri !== undefined) {
    if (!client)
      throw new LogoutRefused(
        'invalid_request',
        'post_logout_redirect_uri needs a known client (client_id or id_token_hint)',
      );
    // §3: an exact match with a URI registered for this client, else no redirect at all.
    if (!(client.postLogoutRedirectUris ?? []).includes(redirectUri))
      throw new LogoutRefused('invalid_request', 'post_logout_redirect_uri is not registered for this client');
  }
  return { hint, client, redirectUri, state: text(input.state) };
};

const refused = (ctx: Koa.Context, error: LogoutRefused) => {
  ctx.status = 400;
  ctx.type = 'html';
  ctx.body = need(ctx.state, 'render')('oauth/logout', {
    title: 'Sign-out refused',
    mode: 'error',
    code: error.code,
    detail: error.message,
  });
};

const withRefusals =
  (work: Koa.Middleware): Koa.Middleware =>
  async (ctx, next) => {
    try {
      await work(ctx, next);
    } catch (error) {
      if (error instanceof LogoutRefused) return refused(ctx, error);
      throw error;
    }
  };

/** Ends this browser's OAuth sign-in, then redirects to the validated URI (with `state`, §3) or shows a page. */
const finish = async (ctx: Koa.Context, services: Deps, request: LogoutRequest) => {
  await services.browserSessions.end(ctx, 'oauth');
  if (request.redirectUri) {
    const target = new URL(request.redirectUri);
    if (request.state !== undefined) target.searchParams.set('state', request.state);
    return seeOther(ctx, target.toString());
  }
  ctx.type = 'html';
  ctx.body = need(ctx.state, 'render')('oauth/logout', { title: 'Signed out', mode: 'done' });
};

export const endSession = (services: Deps): Koa.Middleware =>
  withRefusals(async (ctx) => {
    const request = await resolve(services, params(ctx), true);
    const session = await services.browserSessions.current(ctx, 'oauth');
    // §2: without a valid hint the OP asks the user. A hint for another account asks too, or anyone
    // holding an ID token of their own could sign a victim's browser out with a link.
    if (session && request.hint?.subject !== session.userId) {
      const user = await services.users.byId(session.userId);
      ctx.type = 'html';
      ctx.body = need(ctx.state, 'render')('oauth/logout', {
        title: 'Sign out',
        mode: 'confirm',
        csrf: csrfToken(ctx),
        action: `${services.config.publicUrl}/oauth/logout/confirm`,
        userEmail: user?.email,
        clientName: request.client?.clientName,
        clientId: request.client?.clientId,
        postLogoutRedirectUri: request.redirectUri,
        state: request.state,
      });
      return;
    }
    await finish(ctx, services, request);
  });

/** POST /oauth/logout/confirm (after parseForm + requireCsrf): the user said yes. */
export const confirmEndSession = (services: Deps): Koa.Middleware =>
  withRefusals(async (ctx) => {
    await finish(ctx, services, await resolve(services, formBody(ctx), false));
  });
