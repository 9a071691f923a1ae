// POST /oauth/revoke (RFC 7009) and POST /oauth/introspect (RFC 7662).
import type Koa from 'koa';
import type { HttpDeps } from '../deps.ts';
import { formBody } from '../forms.ts';
import { HttpError } from '../errors.ts';
import { need } from '../state.ts';

type Deps = Pick<HttpDeps, 'oauth'>;

/** RFC 7009 §2.2: 200 whether or not the token was known (only a missing `token` is an error). */
export const revokeToken =
  (services: Deps): Koa.Middleware =>
  async (ctx) => {
    const token = formBody(ctx).token;
    if (!token) throw new HttpError(400, 'invalid_request', 'token is required');
    await services.oauth.tokens.revoke(need(ctx.state, 'client'), token, services.oauth.verifier);
    ctx.status = 200;
    ctx.body = {};
  };

export const introspectToken =
  (services: Deps): Koa.Middleware =>
  async (ctx) => {
    const token = formBody(ctx).token;
    if (!token) throw new HttpError(400, 'invalid_request', 'token is required');
    ctx.body = await services.oauth.tokens.introspect(need(ctx.state, 'client'), token, services.oauth.verifier);
  };
