// Cookies written by hand: Koa refuses `secure` cookies when TLS ends at a proxy, but PUBLIC_URL (https)
// is what decides here. `__Host-` needs Secure + Path=/ + no Domain (RFC 6265bis §4.1.3.2), so a
// loopback http issuer (no TLS) gets the same name without the prefix.
import type Koa from 'koa';
import type { Config } from '../app/config.ts';

export const isSecure = (config: Config): boolean => config.publicUrl.startsWith('https:');

export const cookieName = (config: Config, base: string): string => (isSecure(config) ? `__Host-${base}` : base);

export type CookieOptions = { sameSite: 'Strict' | 'Lax'; maxAgeSeconds?: number };

export const setCookie = (
  ctx: Koa.Context,
  config: Config,
  base: string,
  value: string,
  options: CookieOptions,
): void => {
  const parts = [`${cookieName(config, base)}=${value}`, 'Path=/', 'HttpOnly', `SameSite=${options.sameSite}`];
  if (isSecure(config)) parts.push('Secure');
  if (options.maxAgeSeconds !== undefined) parts.push(`Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}`);
  ctx.append('Set-Cookie', parts.join('; '));
};

export const clearCookie = (ctx: Koa.Context, config: Config, base: string, sameSite: 'Strict' | 'Lax' = 'Lax'): void =>
  setCookie(ctx, config, base, '', { sameSite, maxAgeSeconds: 0 });

export const getCookie = (ctx: Koa.Context, config: Config, base: string): string | undefined =>
  ctx.cookies.get(cookieName(config, base)) || undefined;
