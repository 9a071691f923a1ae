// GET/POST /oauth/userinfo (OIDC Core §5.3): a bearer access token with the `openid` scope.
import type Koa from 'koa';
import type { HttpDeps } from '../deps.ts';
import { mcpResource } from '../../app/oauth/authorizations.ts';
import { userClaims } from '../../app/oauth/token-service.ts';
import { InvalidTokenError } from '../../app/auth-port.ts';
import { HttpError } from '../errors.ts';
import { publicUrlOf } from '../public-url.ts';

type Deps = Pick<HttpDeps, 'oauth' | 'users'>;

export const userinfo =
  (services: Deps): Koa.Middleware =>
  async (ctx) => {
    const match = /^Bearer\s+([\w.~+/-]+=*)$/i.exec(ctx.get('authorization'));
    // RFC 6750 §3: errors in WWW-Authenticate.
    const challenge = (error: string) => ({ 'WWW-Authenticate': `Bearer error="${error}"` });
    if (!match)
      throw new HttpError(401, 'invalid_token', 'a bearer token is required', true, { 'WWW-Authenticate': 'Bearer' });
    let info;
    try {
      info = await services.oauth.verifier.verify(match[1]!, mcpResource(publicUrlOf(ctx)));
    } catch (error) {
      if (error instanceof InvalidTokenError)
        throw new HttpError(401, 'invalid_token', error.message, true, challenge('invalid_token'));
      throw error;
    }
    if (!info.scopes.includes('openid'))
      throw new HttpError(
        403,
        'insufficient_scope',
        'the token lacks the openid scope',
        true,
        challenge('insufficient_scope'),
      );
    const user = await services.users.byId(info.subject);
    if (!user) throw new HttpError(401, 'invalid_token', 'unknown subject', true, challenge('invalid_token'));
    const emailVerified = info.scopes.includes('email') && (await services.users.emailVerified(user.id));
    ctx.body = { sub: user.id, ...userClaims({ ...user, emailVerified }, info.scopes) };
  };
