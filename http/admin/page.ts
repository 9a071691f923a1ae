// Rendering admin pages: the shared locals (signed-in admin, navigation, CSRF token, flash) and the
// response headers every admin page carries.
import type Koa from 'koa';
import { csrfToken } from '../csrf.ts';
import { toHttpError } from '../errors.ts';
import { need } from '../state.ts';

/** The signed-in admin of a request (http/admin/auth.ts sets it). */
export type { AdminUser } from '../state.ts';

export const NAV = [
  { key: 'dashboard', href: '/admin', label: 'Dashboard', icon: 'fa-gauge' },
  { key: 'users', href: '/admin/users', label: 'Users', icon: 'fa-users' },
  { key: 'clients', href: '/admin/clients', label: 'Clients', icon: 'fa-id-card' },
  { key: 'tokens', href: '/admin/tokens', label: 'Tokens', icon: 'fa-key' },
  { key: 'sessions', href: '/admin/sessions', label: 'Sessions', icon: 'fa-plug' },
  { key: 'tools', href: '/admin/tools', label: 'Tools', icon: 'fa-screwdriver-wrench' },
  { key: 'memory', href: '/admin/memory', label: 'Memory', icon: 'fa-brain' },
  { key: 'audit', href: '/admin/audit', label: 'Audit', icon: 'fa-clock-rotate-left' },
  { key: 'projections', href: '/admin/projections', label: 'Projections', icon: 'fa-diagram-project' },
  { key: 'logs', href: '/admin/logs', label: 'Logs', icon: 'fa-file-lines' },
] as const;

/** Messages shown after a redirect (`?ok=<key>`): fixed texts, nothing from the query is echoed. */
const FLASH: Record<string, string> = {
  user_created: 'User created.',
  user_updated: 'User updated.',
  user_erased: 'User erased: their personal data can no longer be read anywhere.',
  session_ended: 'Sign-in ended: that browser must sign in again.',
  mcp_session_ended: 'MCP session ended: its client is refused from now on.',
  mcp_session_already_closed: 'That MCP session was already closed.',
  grant_ended: 'Grant revoked: its tokens are refused and its listen streams closed on every instance.',
  password_reset: 'Password reset.',
  rebuild_started: 'Rebuild started.',
  revoked: 'Revoked.',
  tool_updated: 'Tool updated.',
  client_deleted: 'Client deleted.',
  client_updated: 'Client updated.',
};

// No inline script or style anywhere in the panel, so the policy can be strict (CSP Level 3).
export const ADMIN_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const adminHeaders: Koa.Middleware = async (ctx, next) => {
  ctx.set('Content-Security-Policy', ADMIN_CSP);
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'same-origin');
  ctx.set('Cache-Control', 'no-store');
  await next();
};

export const renderPage = (ctx: Koa.Context, view: string, locals: Record<string, unknown> = {}): void => {
  const admin = ctx.state.admin;
  const ok = typeof ctx.query.ok === 'string' ? FLASH[ctx.query.ok] : undefined;
  ctx.type = 'html';
  ctx.body = need(ctx.state, 'render')(`admin/${view}`, {
    admin,
    nav: NAV,
    csrf: csrfToken(ctx),
    flash: ok ? { kind: 'success', text: ok } : undefined,
    ...locals,
  });
};

/** After a successful POST: Post/Redirect/Get (303) so a reload does not repeat the action. */
export const redirectDone = (ctx: Koa.Context, path: string, ok: keyof typeof FLASH | string): void => {
  ctx.status = 303;
  ctx.redirect(`${path}${path.includes('?') ? '&' : '?'}ok=${encodeURIComponent(ok)}`);
};

/** Where "Back" goes: the admin page the form was on (from Referer), else the dashboard. */
const backPath = (referer: string): string => {
  try {
    const { pathname } = new URL(referer);
    return pathname.startsWith('/admin') ? pathname : '/admin';
  } catch {
    return '/admin';
  }
};

/**
 * A rejected form (bad input, a rule of the domain) shows a page with a way back instead of the
 * problem+json the shared error handler gives non-GET requests. Server errors still go to it.
 */
export const formErrors: Koa.Middleware = async (ctx, next) => {
  try {
    await next();
  } catch (raw) {
    const error = toHttpError(raw);
    if (ctx.method !== 'POST' || error.status >= 500 || ctx.accepts('json', 'html') !== 'html') throw raw;
    renderPage(ctx, 'form-error', {
      title: 'Not done',
      detail: error.message,
      code: error.code,
      back: backPath(ctx.get('referer')),
    });
    ctx.status = error.status;
    ctx.set(error.headers);
  }
};
