// POST /oauth/token (OAuth 2.1 §3.2): [noStore, parseForm, authenticateClient, issueTokens].
import type Koa from 'koa';
import type { HttpDeps } from '../deps.ts';
import { formBody } from '../forms.ts';
import { HttpError } from '../errors.ts';
import { publicUrlOf } from '../public-url.ts';
import { need } from '../state.ts';

type Deps = Pick<HttpDeps, 'oauth'>;

const optional = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);

export const issueTokens =
  (services: Deps): Koa.Middleware =>
  async (ctx) => {
    const body = formBody(ctx);
    const client = need(ctx.state, 'client');
    const tokens = services.oauth.tokens;
    // The token's `iss` is the issuer this request was sent to (app/public-url.ts).
    const issuer = publicUrlOf(ctx);
    switch (body.grant_type) {
      case 'authorization_code':
        if (!body.code) throw new HttpError(400, 'invalid_request', 'code is required');
        ctx.body = await tokens.exchangeCode(client, {
          code: body.code,
          redirectUri: optional(body.redirect_uri),
          codeVerifier: optional(body.code_verifier),
          resource: optional(body.resource),
          issuer,
        });
        return;
      case 'refresh_token':
        if (!body.refresh_token) throw new HttpError(400, 'invalid_request', 'refresh_token is required');
        ctx.body = await tokens.refresh(client, {
          refreshToken: body.refresh_token,
          scope: optional(body.scope),
          resource: optional(body.resource),
          issuer,
        });
        return;
      case 'client_credentials':
        ctx.body = await tokens.clientCredentials(client, {
          scope: optional(body.scope),
          resource: optional(body.resource),
          issuer,
        });
        return;
      case undefined:
      case '':
        throw new HttpError(400, 'invalid_request', 'grant_type is required');
      default:
        throw new HttpError(
          400,
          'unsupported_grant_type',
          'supported: authorization_code, refresh_token, client_credentials',
        );
    }
  };
