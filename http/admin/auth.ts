// Admin sign-in: /admin/login, /admin/logout and the guard in front of every other admin route.
// Browser sessions (purpose 'admin', SameSite=Strict cookie) come from services.browserSessions;
// failed logins are rate limited per account and per IP, and lockouts are events (audit log).
import Router from '@koa/router';
import type Koa from 'koa';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { z } from 'zod';
import { handleCommand } from '../../app/handle.ts';
import type { Services } from '../../app/services.ts';
import type { UserRow } from '../../app/users.ts';
import { loginGuardDecider, loginGuardStream, type LoginSubject } from '../../domain/admin/login-guard.ts';
import type { Actor } from '../../domain/shared.ts';
import { normalizeEmail } from '../../domain/users/index.ts';
import { getCookie } from '../cookies.ts';
import { requireCsrf } from '../csrf.ts';
import { HttpError } from '../errors.ts';
import { rateLimited } from '../rate-limit.ts';
import { formBody, parseForm } from '../forms.ts';
import { renderPage } from './page.ts';

export type AdminUser = { id: string; email: string; sessionId: string; expiresAt: Date };

/** OWASP authentication cheat sheet: lock an account after a few failures; cap what one IP may try. */
export const LOGIN_LIMITS = {
  account: { points: 5, duration: 15 * 60, blockDuration: 15 * 60 },
  ip: { points: 20, duration: 15 * 60, blockDuration: 15 * 60 },
} as const;

const LoginForm = z.object({
  email: z.string().trim().min(3).max(320),
  password: z.string().min(1).max(1_024),
  next: z.string().max(512).optional(),
});

/** Only a path inside the panel may follow a login (no open redirect). */
const safeNext = (next: string | undefined): string =>
  next && /^\/admin(\/[\w\-/?=&%.]*)?$/.test(next) && !next.startsWith('//') ? next : '/admin';

export const adminActor = (ctx: Koa.Context): Actor => {
  const admin = ctx.state.admin as AdminUser;
  return { type: 'user', id: admin.id, email: admin.email };
};

export const adminAuth = (services: Services) => {
  // Shared through Redis when REDIS_URL is set (http/rate-limit.ts), so instances count together.
  const limit = (kind: keyof typeof LOGIN_LIMITS) =>
    services.rateLimits.limiter(`admin-login-${kind}`, {
      points: LOGIN_LIMITS[kind].points,
      durationSeconds: LOGIN_LIMITS[kind].duration,
      blockSeconds: LOGIN_LIMITS[kind].blockDuration,
    });
  const limiters = { account: limit('account'), ip: limit('ip') };
  const subjects = (email: string, ip: string): LoginSubject[] => [
    { kind: 'account', value: normalizeEmail(email) },
    { kind: 'ip', value: ip },
  ];

  const tooMany = (retryMs: number) =>
    rateLimited(retryMs, () => 'too many sign-in attempts; try again later', 'too_many_attempts');

  /** Milliseconds until the subject may try again, or 0 when it is not locked. */
  const lockedFor = async (subject: LoginSubject): Promise<number> => {
    const res = await limiters[subject.kind].get(subject.value);
    return res && res.consumedPoints > LOGIN_LIMITS[subject.kind].points ? res.msBeforeNext : 0;
  };

  const recordFailure = async (ctx: Koa.Context, email: string, reason: string): Promise<number> => {
    const now = new Date();
    const context = {
      actor: { type: 'system', id: 'admin-login' } as Actor,
      ...(ctx.state.requestId ? { requestId: ctx.state.requestId as string } : {}),
    };
    let retryMs = 0;
    for (const subject of subjects(email, ctx.ip)) {
      try {
        await limiters[subject.kind].consume(subject.value);
        if (subject.kind === 'account') {
          await handleCommand(
            services.log,
            loginGuardStream(subject),
            loginGuardDecider,
            { type: 'RecordLoginFailure', subject, email: normalizeEmail(email), ip: ctx.ip, reason, now },
            context,
          );
        }
      } catch (error) {
        if (!(error instanceof RateLimiterRes)) throw error;
        retryMs = Math.max(retryMs, error.msBeforeNext);
        const until = new Date(now.getTime() + error.msBeforeNext);
        await handleCommand(
          services.log,
          loginGuardStream(subject),
          loginGuardDecider,
          { type: 'LockOut', subject, email: normalizeEmail(email), ip: ctx.ip, until, now },
          context,
        );
        services.logger.warn({ subject: subject.kind, ip: ctx.ip }, 'admin sign-in locked out');
      }
    }
    return retryMs;
  };

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
    // Browsers get the login page again with the reason; other clients problem+json (both 429 + Retry-After).
    const refuse = (retryMs: number) => {
      const error = tooMany(retryMs);
      if (ctx.accepts('json', 'html') !== 'html') throw error;
      fail(429, `Too many sign-in attempts. Try again in ${Math.ceil(retryMs / 60_000)} minute(s).`);
      ctx.set(error.headers);
    };
    if (!parsed.success) return fail(400, 'Enter your email and password.');
    // Locked subjects are refused before any password work (and even with the right password).
    const locked = Math.max(...(await Promise.all(subjects(email, ctx.ip).map(lockedFor))));
    if (locked > 0) return refuse(locked);
    const user: UserRow | undefined = await services.users.authenticate(email, parsed.data.password);
    if (!user) {
      const retryMs = await recordFailure(ctx, email, 'bad_credentials');
      if (retryMs > 0) return refuse(retryMs);
      return fail(401, 'Wrong email or password.');
    }
    if (!user.roles.includes('admin')) {
      await recordFailure(ctx, email, 'not_admin');
      return fail(403, 'This account is not an administrator.');
    }
    await limiters.account.delete(normalizeEmail(email));
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
