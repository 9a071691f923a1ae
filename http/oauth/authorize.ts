// GET /oauth/authorize (OAuth 2.1 §4.1.1): validate, record the request, then send the browser to the
// login page, the consent page, or (signed in + remembered consent) straight back with a code.
import type Koa from 'koa';
import type { Services } from '../../app/services.ts';
import { AuthorizePageError, AuthorizeRedirectError } from '../../app/oauth/authorizations.ts';
import { HttpError } from '../errors.ts';
import { formBody } from '../forms.ts';
import { requestSignal } from '../abort.ts';

export const interactionUrl = (services: Services, page: 'login' | 'consent', grantId: string) =>
  `${services.config.publicUrl}/oauth/${page}?request=${encodeURIComponent(grantId)}`;

/** 303 so a POSTed form is followed by a GET (no resubmission, no body forwarded). */
export const seeOther = (ctx: Koa.Context, location: string) => {
  ctx.redirect(location);
  ctx.status = 303;
};

/** Where a request goes once we know who is signed in (or not). */
export const continueInteraction = async (
  ctx: Koa.Context,
  services: Services,
  grantId: string,
  options: { prompt?: string; justSignedIn?: { userId: string; at: Date } } = {},
): Promise<string> => {
  const { authorizations } = services.oauth;
  const prompts = new Set((options.prompt ?? '').split(' ').filter(Boolean));
  const userId = options.justSignedIn?.userId ?? (await services.browserSessions.current(ctx, 'oauth'))?.userId;
  const pending = await authorizations.pending(grantId);
  // OIDC Core §3.1.2.1 prompt=none: no page may be shown; answer with an error instead.
  if (!userId || (prompts.has('login') && !options.justSignedIn)) {
    if (prompts.has('none'))
      return authorizations.redirect(pending.redirectUri, { error: 'login_required', state: pending.state });
    return interactionUrl(services, 'login', grantId);
  }
  if (!prompts.has('consent') && (await authorizations.hasConsent(userId, pending.clientId, pending.scopes))) {
    // auth_time: the sign-in of this flow, or (an existing session) the approval time, an upper bound.
    return authorizations.approve(grantId, userId, options.justSignedIn?.at ?? new Date(), true);
  }
  if (prompts.has('none'))
    return authorizations.redirect(pending.redirectUri, { error: 'consent_required', state: pending.state });
  return interactionUrl(services, 'consent', grantId);
};

export const authorize =
  (services: Services): Koa.Middleware =>
  async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const { authorizations } = services.oauth;
    // OIDC Core §3.1.2.1: GET and POST (form-encoded) are both accepted.
    const params: Record<string, unknown> = ctx.method === 'POST' ? formBody(ctx) : ctx.query;
    let grantId: string;
    try {
      // The request's signal: a metadata document fetch for it stops when the browser goes away.
      ({ grantId } = await authorizations.begin(params, new Date(), { signal: requestSignal(ctx) }));
    } catch (error) {
      // RFC 6749 §4.1.2.1: without a valid client and redirect URI, show the error; never redirect.
      if (error instanceof AuthorizePageError) throw new HttpError(400, error.code, error.message);
      if (error instanceof AuthorizeRedirectError) {
        return seeOther(
          ctx,
          authorizations.redirect(error.redirectUri, {
            error: error.code,
            error_description: error.message,
            state: error.state,
          }),
        );
      }
      throw error;
    }
    const prompt = typeof params.prompt === 'string' ? params.prompt : undefined;
    seeOther(ctx, await continueInteraction(ctx, services, grantId, prompt ? { prompt } : {}));
  };
