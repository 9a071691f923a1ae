// GET /oauth/authorize (OAuth 2.1 §4.1.1): validate, keep the request in this browser's cookie, then send
// the browser to the login page, the consent page, or (signed in + remembered consent) straight back with
// a code. Nothing is written to the log until a known user answers.
import type Koa from 'koa';
import type { HttpDeps } from '../deps.ts';
import {
  AuthorizePageError,
  AuthorizeRedirectError,
  trustsRedirectUris,
  type PendingRequest,
} from '../../app/oauth/authorizations.ts';
import type { Client } from '../../domain/clients/index.ts';
import { HttpError } from '../errors.ts';
import { formBody } from '../forms.ts';
import { requestSignal } from '../abort.ts';
import { clearPending, savePending } from './pending-cookie.ts';
import { publicUrlOf } from '../public-url.ts';
import { need } from '../state.ts';

type Deps = Pick<HttpDeps, 'browserSessions' | 'config' | 'oauth'>;

export const interactionUrl = (ctx: Koa.Context, page: 'login' | 'consent', grantId: string) =>
  `${publicUrlOf(ctx)}/oauth/${page}?request=${encodeURIComponent(grantId)}`;

/** 303 so a POSTed form is followed by a GET (no resubmission, no body forwarded). */
export const seeOther = (ctx: Koa.Context, location: string) => {
  ctx.redirect(location);
  ctx.status = 303;
};

/**
 * An error for the client at its redirect URI: a 303 when the redirect URI is trusted, else a page that
 * names the error and offers the way back (RFC 9700 §4.11.2: no automatic redirect to an unvetted URI).
 */
const answerRedirectError = (ctx: Koa.Context, services: Deps, error: AuthorizeRedirectError) => {
  const location = services.oauth.authorizations.redirect(
    error.redirectUri,
    { error: error.code, error_description: error.message, state: error.state },
    publicUrlOf(ctx),
  );
  if (error.automatic) return seeOther(ctx, location);
  ctx.status = 400;
  ctx.type = 'html';
  ctx.body = need(ctx.state, 'render')('oauth/error', {
    title: 'The application sent a request that cannot be completed',
    code: error.code,
    detail: error.message,
    returnHost: new URL(error.redirectUri).host,
    returnHref: location,
  });
};

/** After a successful sign-in in this flow: remembered consent answers at once, otherwise the consent page. */
export const continueAfterSignIn = async (
  ctx: Koa.Context,
  services: Deps,
  request: PendingRequest,
  signedIn: { userId: string; at: Date },
): Promise<string> => {
  const { authorizations } = services.oauth;
  if (!request.forceConsent && (await authorizations.hasConsent(signedIn.userId, request.clientId, request.scopes))) {
    clearPending(ctx, services, request.grantId);
    return authorizations.approve(request, signedIn.userId, signedIn.at, true, new Date(), publicUrlOf(ctx));
  }
  return interactionUrl(ctx, 'consent', request.grantId);
};

/** Where a validated request goes, given who is signed in in this browser (OIDC Core §3.1.2.1 `prompt`). */
const route = async (
  ctx: Koa.Context,
  services: Deps,
  request: PendingRequest,
  client: Client,
  prompts: Set<string>,
) => {
  const { authorizations } = services.oauth;
  const session = prompts.has('login') ? undefined : await services.browserSessions.current(ctx, 'oauth');
  if (
    session &&
    !request.forceConsent &&
    (await authorizations.hasConsent(session.userId, client.clientId, request.scopes))
  ) {
    // auth_time: the existing session's sign-in is not known here; the approval time is an upper bound.
    return seeOther(
      ctx,
      await authorizations.approve(request, session.userId, new Date(), true, new Date(), publicUrlOf(ctx)),
    );
  }
  // prompt=none: no page may be shown, so the answer is an error (login_required / consent_required).
  if (prompts.has('none')) {
    const [code, message] = session
      ? ['consent_required', 'the user has not approved this application yet']
      : ['login_required', 'nobody is signed in'];
    return answerRedirectError(
      ctx,
      services,
      new AuthorizeRedirectError(code, message, request.redirectUri, request.state, trustsRedirectUris(client)),
    );
  }
  await savePending(ctx, services, request, client);
  seeOther(ctx, interactionUrl(ctx, session ? 'consent' : 'login', request.grantId));
};

export const authorize =
  (services: Deps): Koa.Middleware =>
  async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    // OIDC Core §3.1.2.1: GET and POST (form-encoded) are both accepted.
    const params: Record<string, unknown> = ctx.method === 'POST' ? formBody(ctx) : ctx.query;
    try {
      // The request's signal: a metadata document fetch for it stops when the browser goes away.
      const { request, client } = await services.oauth.authorizations.begin(params, new Date(), publicUrlOf(ctx), {
        signal: requestSignal(ctx),
      });
      const prompts = new Set(typeof params.prompt === 'string' ? params.prompt.split(' ').filter(Boolean) : []);
      await route(ctx, services, request, client, prompts);
    } catch (error) {
      // RFC 6749 §4.1.2.1: without a valid client and redirect URI, show the error; never redirect.
      if (error instanceof AuthorizePageError) throw new HttpError(400, error.code, error.message);
      if (error instanceof AuthorizeRedirectError) return answerRedirectError(ctx, services, error);
      throw error;
    }
  };
