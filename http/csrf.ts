// CSRF protection for HTML forms (OWASP CSRF cheat sheet): a signed double-submit token bound to a
// random cookie, plus an Origin (or Referer) check against this request's public URL (PUBLIC_URL, or the
// loopback origin it came in on) on every state-changing request. Neither header → refused.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import { HttpError } from './errors.ts';
import { getCookie, setCookie } from './cookies.ts';
import { formBody } from './forms.ts';
import { publicUrlOf } from './public-url.ts';
import { need, type SiteKeys } from './state.ts';

const COOKIE = 'rmcp_csrf';

const sign = (secret: Buffer, value: string) =>
  createHmac('sha256', secret).update(`csrf:${value}`).digest('base64url');

/** The token for this browser's hidden `csrf` field (sets the cookie on first use). */
export const csrfToken = (ctx: Koa.Context): string => {
  const services = need(ctx.state, 'site');
  let value = ctx.state.csrfCookie ?? getCookie(ctx, services.config, COOKIE);
  if (!value || !/^[\w-]{43}$/.test(value)) {
    value = randomBytes(32).toString('base64url');
    setCookie(ctx, services.config, COOKIE, value, { sameSite: 'Lax' });
  }
  ctx.state.csrfCookie = value;
  return sign(services.secret, value);
};

const sameOrigin = (ctx: Koa.Context, publicUrl: string): boolean => {
  const expected = new URL(publicUrl).origin;
  const origin = ctx.get('origin');
  if (origin) return origin === expected;
  const referer = ctx.get('referer');
  if (referer) {
    try {
      return new URL(referer).origin === expected;
    } catch {
      return false;
    }
  }
  return false;
};

/** A browser that opened this server by a loopback address while PUBLIC_URL names another is told where to go. */
const openedElsewhere = (ctx: Koa.Context, services: SiteKeys): boolean => {
  if (services.config.publicUrlFollowsRequest) return false;
  try {
    const origin = new URL(ctx.get('origin') || ctx.get('referer'));
    return origin.host === ctx.get('host') && origin.origin !== new URL(services.config.publicUrl).origin;
  } catch {
    return false;
  }
};

/** For POST and friends: same origin and a matching `csrf` field, else 403 `csrf_failed` (before any work). Run after parseForm. */
export const requireCsrf = (): Koa.Middleware => async (ctx, next) => {
  if (ctx.method === 'GET' || ctx.method === 'HEAD' || ctx.method === 'OPTIONS') return next();
  const services = need(ctx.state, 'site');
  if (!sameOrigin(ctx, publicUrlOf(ctx)))
    throw new HttpError(
      403,
      'csrf_failed',
      openedElsewhere(ctx, services)
        ? `this server is configured as ${services.config.publicUrl}; open it there`
        : 'request did not come from this site',
    );
  const cookie = getCookie(ctx, services.config, COOKIE);
  const sent = formBody(ctx).csrf ?? ctx.get('x-csrf-token');
  const expected = cookie ? Buffer.from(sign(services.secret, cookie)) : undefined;
  if (
    !expected ||
    !sent ||
    Buffer.byteLength(sent) !== expected.length ||
    !timingSafeEqual(Buffer.from(sent), expected)
  ) {
    throw new HttpError(403, 'csrf_failed', 'the form expired or was not sent from this site; reload and try again');
  }
  await next();
};
