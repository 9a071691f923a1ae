// Admin sign-in: /admin/login, /admin/logout and the guard in front of every other admin route.
// Browser sessions (purpose 'admin', SameSite=Strict cookie) come from services.browserSessions;
// failed sign-ins are throttled and recorded by the login guard shared with the OAuth login (http/login-guard.ts).
import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import type { Actor } from '../../domain/shared.ts';
import { getCookie } from '../cookies.ts';
import { requireCsrf } from '../csrf.ts';
import { HttpError } from '../errors.ts';
import { rateLimited } from '../rate-limit.ts';
import { LoginGuard } from '../login-guard.ts';
import { formBody, parseForm } from '../forms.ts';
import { renderPage, type AdminUser } from './page.ts';
import { need } from '../state.ts';

type Deps = Pick<HttpDeps, 'browserSessions' | 'config' | 'log' | 'logger' | 'rateLimits' | 'secret' | 'users'>;

export type { AdminUser } from './page.ts';

const LoginForm = z.object({
  email: z.string().trim().min(3).max(320),
  password: z.string().min(1).max(1_024),
  next: z.string().max(512).optional(),
});

/** Only a path inside the panel may follow a login (no open redirect). */
const safeNext = (next: string | undefined): string =>
  next && /^\/admin(\/[\w\-/?=&%.]*)?$/.test(next) && !next.startsWith('//') ? next : '/admin';

export const adminActor = (ctx: Koa.Context): Actor => {
  const admin = need(ctx.state, 'admin');
  return { type: 'user', id: admin.id, email: admin.email };
};

export const adminAuth = (services: Deps) => {
  // Throttles shared with the OAuth login page (http/login-guard.ts), through Redis when REDIS_URL is set.
  const guard = new LoginGuard(services, 'admin');

  const router = new Router();

  router.get('/admin/login', async (ctx) => {
    if (await services.browserSessions.current(ctx, 'admin')) return ctx.redirect('/admin');
    renderPage(ctx, 'login', {
      title: 'Admin sign-in',
      email: '',
      next: typeof ctx.query.next === 'string' ? safeNext(ctx.query.next) : '/admin',
      error: ctx.query.expired ? 'Your session has ended; sign in again.' : undefined,
    });
  });

  router.post('/admin/login', parseForm, requireCsrf(), async (ctx) => {
    const parsed = LoginForm.safeParse(formBody(ctx));
    const email = parsed.success ? parsed.data.email : String(formBody(ctx).email ?? '').slice(0, 320);
    const next = safeNext(parsed.success ? parsed.data.next : undefined);
    const fail = (status: number, error: string) => {
      renderPage(ctx, 'login', { title: 'Admin sign-in', email, next, error });
      ctx.status = status;
    };
    if (!parsed.success) return fail(400, 'Enter your email and password.');
    const result = await guard.signIn(ctx, email, parsed.data.password, { adminOnly: true });
    if (!result.ok) {
      // Throttled: browsers get the login page again with the wait; other clients problem+json (both 429 + Retry-After).
      if (result.status === 429 && ctx.accepts('json', 'html') !== 'html')
        throw rateLimited(
          Number(result.retryAfter) * 1_000,
          () => 'too many sign-in attempts; try again later',
          'too_many_attempts',
        );
      fail(result.status, result.message);
      if (result.retryAfter) ctx.set('Retry-After', result.retryAfter);
      return;
    }
    const { user } = result;
    await services.browserSessions.start(ctx, user.id, 'admin');
    ctx.status = 303;
    ctx.redirect(next);
  });

  router.post('/admin/logout', parseForm, requireCsrf(), async (ctx) => {
    await services.browserSessions.end(ctx, 'admin');
    ctx.status = 303;
    ctx.redirect('/admin/login');
  });

  /** Every other admin route: a live admin session of a user who is still an active admin. */
  const requireAdmin: Koa.Middleware = async (ctx, next) => {
    const session = await services.browserSessions.current(ctx, 'admin');
    if (!session) {
      if (ctx.method === 'GET' && ctx.accepts('json', 'html') === 'html') {
        // A cookie that no longer opens a session: it expired or was signed out elsewhere.
        const expired = getCookie(ctx, services.config, 'rmcp_admin') ? '&expired=1' : '';
        ctx.redirect(`/admin/login?next=${encodeURIComponent(ctx.originalUrl)}${expired}`);
        return;
      }
      throw new HttpError(401, 'login_required', 'sign in to the admin panel first');
    }
    const user = await services.users.byId(session.userId);
    if (!user || user.status !== 'active' || !user.roles.includes('admin'))
      throw new HttpError(403, 'forbidden', 'administrators only');
    ctx.state.admin = {
      id: user.id,
      email: user.email,
      sessionId: session.id,
      expiresAt: session.expiresAt,
    } satisfies AdminUser;
    await next();
  };

  return { routes: router.routes(), requireAdmin };
};
