// /admin/users: list, create, disable/enable, reset password, roles, mark the email verified, erase. Each action is one user command
// whose events carry the signed-in admin as actor (the audit page shows who did it).
import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import { MIN_PASSWORD } from '../../app/users.ts';
import { Role } from '../../domain/users/index.ts';
import { requireCsrf } from '../csrf.ts';
import { HttpError } from '../errors.ts';
import { formBody, parseForm } from '../forms.ts';
import { adminActor } from './auth.ts';
import { redirectDone, renderPage } from './page.ts';
import { need } from '../state.ts';

type Deps = Pick<HttpDeps, 'users'>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const CreateForm = z.object({
  email: z.string().trim().max(320),
  name: z.string().trim().max(200).optional(),
  password: z.string().min(MIN_PASSWORD).max(1_024),
  admin: z.literal('on').optional(),
});
const PasswordForm = z.object({ password: z.string().min(MIN_PASSWORD).max(1_024) });
const RolesForm = z.object({ admin: z.literal('on').optional() });

export const usersRoutes = (services: Deps) => {
  const router = new Router();
  const post = [parseForm, requireCsrf()] as const;

  const target = async (ctx: Koa.Context) => {
    // User ids are UUIDs (a uuid column): anything else names no user.
    const id = String(ctx.params.id);
    const user = UUID.test(id) ? await services.users.byId(id) : undefined;
    if (!user) throw new HttpError(404, 'user_not_found', 'no such user');
    return user;
  };
  const notSelf = (ctx: Koa.Context, id: string, what: string) => {
    // Locking yourself out of the panel is never what an admin meant.
    if (need(ctx.state, 'admin').id === id)
      throw new HttpError(400, 'cannot_change_self', `you cannot ${what} your own account`);
  };

  router.get('/admin/users', async (ctx) => {
    const [users, verified] = await Promise.all([services.users.list(), services.users.verifiedUserIds()]);
    renderPage(ctx, 'users', { title: 'Users', section: 'users', users, verified, minPassword: MIN_PASSWORD });
  });

  router.post('/admin/users', ...post, async (ctx) => {
    const form = CreateForm.parse(formBody(ctx));
    await services.users.create(
      {
        email: form.email,
        password: form.password,
        ...(form.name ? { name: form.name } : {}),
        roles: form.admin ? ['admin', 'user'] : ['user'],
      },
      adminActor(ctx),
    );
    redirectDone(ctx, '/admin/users', 'user_created');
  });

  router.post('/admin/users/:id/disable', ...post, async (ctx) => {
    const user = await target(ctx);
    notSelf(ctx, user.id, 'disable');
    await services.users.disable(user.email, adminActor(ctx));
    redirectDone(ctx, '/admin/users', 'user_updated');
  });

  router.post('/admin/users/:id/enable', ...post, async (ctx) => {
    const user = await target(ctx);
    await services.users.enable(user.email, adminActor(ctx));
    redirectDone(ctx, '/admin/users', 'user_updated');
  });

  router.post('/admin/users/:id/password', ...post, async (ctx) => {
    const user = await target(ctx);
    const form = PasswordForm.parse(formBody(ctx));
    await services.users.changePassword(user.email, form.password, adminActor(ctx));
    redirectDone(ctx, '/admin/users', 'password_reset');
  });

  // OIDC Core §5.1: from now on the user's ID tokens and userinfo say `email_verified: true`.
  router.post('/admin/users/:id/verify-email', ...post, async (ctx) => {
    const user = await target(ctx);
    await services.users.verifyEmail(user.email, adminActor(ctx));
    redirectDone(ctx, '/admin/users', 'user_updated');
  });

  // GDPR Art. 17: a confirm page first; the POST needs the address typed again (an erasure is for good).
  router.get('/admin/users/:id/erase', async (ctx) => {
    const user = await target(ctx);
    if (user.status === 'erased') throw new HttpError(400, 'user_erased', 'this user was erased already');
    renderPage(ctx, 'user-erase', { title: `Erase ${user.email}?`, section: 'users', user });
  });

  router.post('/admin/users/:id/erase', ...post, async (ctx) => {
    const user = await target(ctx);
    notSelf(ctx, user.id, 'erase');
    const typed = String(formBody(ctx).confirm ?? '')
      .trim()
      .toLowerCase();
    if (typed !== user.email)
      throw new HttpError(400, 'confirmation_required', "type the user's address on the erase page to confirm");
    await services.users.erase(user.email, adminActor(ctx));
    redirectDone(ctx, '/admin/users', 'user_erased');
  });

  router.post('/admin/users/:id/roles', ...post, async (ctx) => {
    const user = await target(ctx);
    const form = RolesForm.parse(formBody(ctx));
    const roles: Role[] = form.admin ? ['admin', 'user'] : ['user'];
    if (!form.admin) notSelf(ctx, user.id, 'remove the admin role from');
    await services.users.setRoles(user.email, roles, adminActor(ctx));
    redirectDone(ctx, '/admin/users', 'user_updated');
  });

  return router;
};
