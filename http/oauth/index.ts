// HTTP routes of the oauth area: one file per endpoint, each a short pipeline of named middleware.
import Router, { type RouterMiddleware } from '@koa/router';
import cors from '@koa/cors';
import compose from 'koa-compose';
import type Koa from 'koa';
import type { HttpDeps } from '../deps.ts';
import { parseForm, parseJson } from '../forms.ts';
import { requireCsrf } from '../csrf.ts';
import { authenticateClient } from './client-auth.ts';
import { authorize } from './authorize.ts';
import { oauthJsonErrors } from '../errors.ts';
import { pageHeaders, showConsent, showLogin, submitConsent, submitLogin } from './interaction.ts';
import { confirmEndSession, endSession } from './logout.ts';
import { serveJwks, serveResourceMetadata, serveServerMetadata } from './metadata.ts';
import { OAuthRateLimits } from './rate-limits.ts';
import { LoginGuard } from '../login-guard.ts';
import { deleteRegistration, readRegistration, registerClient, updateRegistration } from './register.ts';
import { introspectToken, revokeToken } from './revoke.ts';
import { issueTokens } from './token.ts';
import { userinfo } from './userinfo.ts';

type Deps = Pick<
  HttpDeps,
  'browserSessions' | 'config' | 'log' | 'logger' | 'oauth' | 'rateLimits' | 'secret' | 'users'
>;

/** RFC 6749 §5.1 / RFC 9700: token-bearing responses are never cached. */
const noStore: Koa.Middleware = async (ctx, next) => {
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
  await next();
};

/** The area's routes, and the token endpoint alone for the app to try before any router (see createApp). */
export type OAuthRoutes = { readonly routes: Koa.Middleware; readonly token: Koa.Middleware };

export const oauthRoutes = (services: Deps): OAuthRoutes => {
  const router = new Router();
  const limits = new OAuthRateLimits(services.rateLimits);
  // Cookie-less JSON endpoints may be called from browser-based clients (e.g. MCP inspectors).
  const openCors = cors({
    origin: '*',
    allowMethods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type', 'MCP-Protocol-Version'],
  });
  const api = (...middleware: Koa.Middleware[]) =>
    compose([openCors, oauthJsonErrors, ...middleware]) as unknown as RouterMiddleware;

  for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'])
    router.all(path, api(serveServerMetadata(services)));
  for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp'])
    router.all(path, api(serveResourceMetadata(services)));
  router.all('/oauth/jwks', api(serveJwks(services)));

  router.post('/oauth/register', api(noStore, limits.registration(), parseJson, registerClient(services)));
  router.options('/oauth/register', api());
  router.get('/oauth/register/:id', api(noStore, readRegistration(services)));
  router.put('/oauth/register/:id', api(noStore, parseJson, updateRegistration(services)));
  router.delete('/oauth/register/:id', api(noStore, deleteRegistration(services)));
  router.options('/oauth/register/:id', api());

  const { perIp, perClient } = limits.backChannel(services.rateLimits, services.config.oauthRateLimitPerMinute);
  const clientAuth = limits.clientAuthentication();
  const token = api(
    noStore,
    perIp,
    parseForm,
    authenticateClient(services, clientAuth),
    perClient,
    issueTokens(services),
  );
  router.post('/oauth/token', token);
  router.post(
    '/oauth/revoke',
    api(noStore, perIp, parseForm, authenticateClient(services, clientAuth), perClient, revokeToken(services)),
  );
  router.post(
    '/oauth/introspect',
    api(
      noStore,
      perIp,
      parseForm,
      authenticateClient(services, clientAuth, { confidentialOnly: true }),
      perClient,
      introspectToken(services),
    ),
  );
  for (const path of ['/oauth/token', '/oauth/revoke', '/oauth/introspect', '/oauth/userinfo'])
    router.options(path, api());
  router.get('/oauth/userinfo', api(noStore, userinfo(services)));
  router.post('/oauth/userinfo', api(noStore, userinfo(services)));

  const authorizeLimit = limits.authorize(services.rateLimits, services.config.authorizeRateLimitPerMinute);
  router.get('/oauth/authorize', pageHeaders, authorizeLimit, authorize(services));
  router.post('/oauth/authorize', pageHeaders, authorizeLimit, parseForm, authorize(services));
  router.get('/oauth/login', pageHeaders, showLogin(services));
  router.post(
    '/oauth/login',
    pageHeaders,
    parseForm,
    requireCsrf(),
    submitLogin(services, new LoginGuard(services, 'oauth')),
  );
  router.get('/oauth/consent', pageHeaders, showConsent(services));
  router.post('/oauth/consent', pageHeaders, parseForm, requireCsrf(), submitConsent(services));
  // OIDC RP-Initiated Logout 1.0 §2: the RP may send the request by GET or by a form POST.
  router.get('/oauth/logout', pageHeaders, endSession(services));
  router.post('/oauth/logout', pageHeaders, parseForm, endSession(services));
  router.post('/oauth/logout/confirm', pageHeaders, parseForm, requireCsrf(), confirmEndSession(services));

  return {
    routes: compose([router.routes(), router.allowedMethods()] as unknown as Koa.Middleware[]),
    // POST /oauth/token by its exact path, as the router would dispatch it (the route label included):
    // every machine client's token comes this way, and the routers ahead of it each match every request
    // against their routes (and make a middleware chain per match). Other spellings ('/oauth/token/',
    // another case) and methods still reach the router.
    token: (ctx, next) => {
      if (ctx.path !== '/oauth/token' || ctx.method !== 'POST') return next();
      (ctx as Koa.Context & { _matchedRoute?: string })._matchedRoute = '/oauth/token';
      return token(ctx as Parameters<typeof token>[0], next);
    },
  };
};
