// /admin/tokens: grants and access tokens per user/client (services.oauth), revoke one grant, one access
// token, or every grant of a user or client. Each revocation is a grant command with the admin as actor.
import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import { userIdForEmail } from '../../domain/users/index.ts';
import { requireCsrf } from '../csrf.ts';
import { HttpError } from '../errors.ts';
import { formBody, parseForm } from '../forms.ts';
import { adminActor } from './auth.ts';
import { redirectDone, renderPage } from './page.ts';

type Deps = Pick<HttpDeps, 'oauth' | 'users'>;

const Filter = z.object({
  user: z
    .string()
    .trim()
    .max(320)
    .optional()
    .transform((value) => value || undefined),
  client: z
    .string()
    .trim()
    .max(300)
    .optional()
    .transform((value) => value || undefined),
});
const RevokeAll = z.object({
  user: z.string().trim().max(320).optional(),
  client: z.string().trim().max(300).optional(),
});

const toUserId = (user: string | undefined) => (user?.includes('@') ? userIdForEmail(user) : user);
const when = (date: Date | null) => (date ? date.toISOString().replace('T', ' ').slice(0, 19) : '');

export const tokensRoutes = (services: Deps) => {
  const router = new Router();
  const post = [parseForm, requireCsrf()] as const;
  const back = (ctx: Koa.Context) => {
    const params = new URLSearchParams();
    const form = formBody(ctx);
    if (form.user) params.set('user', form.user);
    if (form.client) params.set('client', form.client);
    return `/admin/tokens${params.size ? `?${params.toString()}` : ''}`;
  };

  router.get('/admin/tokens', async (ctx) => {
    const filter = Filter.parse(ctx.query);
    const userId = toUserId(filter.user);
    const scope = { ...(userId ? { userId } : {}), ...(filter.client ? { clientId: filter.client } : {}) };
    const [grants, tokens, users] = await Promise.all([
      services.oauth.listGrants(scope),
      services.oauth.listTokens({ ...scope, activeOnly: true }),
      services.users.list(),
    ]);
    const emails = new Map(users.map((user) => [user.id, user.email]));
    renderPage(ctx, 'tokens', {
      title: 'Grants and tokens',
      section: 'tokens',
      filter: { user: filter.user ?? '', client: filter.client ?? '' },
      grants: grants.map((g) => ({
        ...g,
        user: g.user_id ? (emails.get(g.user_id) ?? g.user_id) : '',
        created: when(g.created_at),
        refreshExpires: when(g.refresh_expires_at),
      })),
      tokens: tokens.map((t) => ({
        ...t,
        user: t.user_id ? (emails.get(t.user_id) ?? t.user_id) : '',
        issued: when(t.issued_at),
        expires: when(t.expires_at),
      })),
    });
  });

  router.post('/admin/tokens/grants/:id/revoke', ...post, async (ctx) => {
    await services.oauth.revokeGrant(String(ctx.params.id), adminActor(ctx));
    redirectDone(ctx, back(ctx), 'revoked');
  });

  router.post('/admin/tokens/access/:jti/revoke', ...post, async (ctx) => {
    await services.oauth.revokeAccessToken(String(ctx.params.jti), adminActor(ctx));
    redirectDone(ctx, back(ctx), 'revoked');
  });

  router.post('/admin/tokens/revoke-all', ...post, async (ctx) => {
    const form = RevokeAll.parse(formBody(ctx));
    const userId = toUserId(form.user || undefined);
    // "All" needs a subject: never every grant on the server by an empty form.
    if (!userId && !form.client)
      throw new HttpError(400, 'invalid_request', 'choose a user or a client whose grants to revoke');
    const grants = await services.oauth.listGrants({
      ...(userId ? { userId } : {}),
      ...(form.client ? { clientId: form.client } : {}),
    });
    for (const grant of grants.filter((g) => g.status !== 'revoked'))
      await services.oauth.revokeGrant(grant.grant_id, adminActor(ctx));
    redirectDone(ctx, back(ctx), 'revoked');
  });

  return router;
};
