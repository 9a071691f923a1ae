// The device cookie (OWASP "Slow down online guessing attacks with device cookies"): after a successful
// sign-in the browser keeps a signed cookie naming the account. A browser that shows it for the account
// it signs in to is a known device: its own failures are counted on their own, and throttles aimed at
// unknown devices (an address, the account as a whole) do not stop it. It opens no session by itself.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import type { Config } from '../app/config.ts';
import { getCookie, setCookie } from './cookies.ts';

const COOKIE = 'rmcp_device';
const MAX_AGE_SECONDS = 180 * 86_400;
const SHAPE = /^([\w-]{1,64})\.([\w-]{22})\.(\d{1,12})\.([\w-]{43})$/;

export type Device = { userId: string; deviceId: string };

const mac = (secret: Buffer, payload: string) =>
  createHmac('sha256', secret).update(`device:${payload}`).digest('base64url');

export const issueDeviceCookie = (
  ctx: Koa.Context,
  config: Config,
  secret: Buffer,
  userId: string,
  now = new Date(),
) => {
  const payload = `${userId}.${randomBytes(16).toString('base64url')}.${Math.floor(now.getTime() / 1_000)}`;
  // SameSite=Strict: only our own sign-in forms (same-site POSTs) need it.
  setCookie(ctx, config, COOKIE, `${payload}.${mac(secret, payload)}`, {
    sameSite: 'Strict',
    maxAgeSeconds: MAX_AGE_SECONDS,
  });
};

/** The device this browser's cookie names, when the signature holds and it is not older than its max age. */
export const readDeviceCookie = (
  ctx: Koa.Context,
  config: Config,
  secret: Buffer,
  now = new Date(),
): Device | undefined => {
  const match = SHAPE.exec(getCookie(ctx, config, COOKIE) ?? '');
  if (!match) return undefined;
  const [, userId, deviceId, issued, sent] = match as unknown as [string, string, string, string, string];
  const expected = Buffer.from(mac(secret, `${userId}.${deviceId}.${issued}`));
  if (!timingSafeEqual(Buffer.from(sent), expected)) return undefined;
  if (now.getTime() / 1_000 - Number(issued) > MAX_AGE_SECONDS) return undefined;
  return { userId, deviceId };
};
