// Body parsing at the edge: small limits, only the types an endpoint expects.
import { bodyParser } from '@koa/bodyparser';
import type Koa from 'koa';
import { findUnstorable } from '../eventstore/storable.ts';
import { HttpError } from './errors.ts';

const formParser = bodyParser({ enableTypes: ['form'], formLimit: '64kb', encoding: 'utf-8' });
const jsonParser = bodyParser({ enableTypes: ['json'], jsonLimit: '1mb', jsonStrict: true, encoding: 'utf-8' });

/**
 * Bodies are small forms and JSON documents: none is sent compressed, and a decoder is one more thing a
 * stranger could aim at. RFC 7694 §3: refuse with 415 and name the coding accepted.
 */
const refuseContentCoding = (ctx: Koa.Context): void => {
  const coding = ctx.get('content-encoding').trim().toLowerCase();
  if (coding && coding !== 'identity')
    throw new HttpError(
      415,
      'unsupported_media_type',
      `Content-Encoding ${JSON.stringify(coding.slice(0, 40))} is not supported; send the body uncompressed`,
      true,
      { 'Accept-Encoding': 'identity' },
    );
};

/** application/x-www-form-urlencoded → ctx.request.body (strings only; repeated fields keep the first). */
export const parseForm: Koa.Middleware = async (ctx, next) => {
  refuseContentCoding(ctx);
  if (
    ctx.method !== 'GET' &&
    ctx.method !== 'HEAD' &&
    ctx.request.length &&
    !ctx.is('application/x-www-form-urlencoded')
  ) {
    throw new HttpError(415, 'unsupported_media_type', 'expected application/x-www-form-urlencoded');
  }
  await formParser(ctx, async () => undefined);
  const raw = (ctx.request.body ?? {}) as Record<string, unknown>;
  ctx.request.body = Object.fromEntries(
    Object.entries(raw).map(([key, value]) => [
      key,
      Array.isArray(value) ? String(value[0] ?? '') : String(value ?? ''),
    ]),
  );
  // No form field may hold U+0000 or an unpaired surrogate: PostgreSQL can neither store nor look up
  // such text (an email, a code). Refused here, before anything is looked up, checked or written.
  const unstorable = findUnstorable(ctx.request.body);
  if (unstorable !== undefined)
    throw new HttpError(400, 'invalid_request', `${unstorable.slice(2)}: holds U+0000 or an unpaired surrogate`);
  await next();
};

export const parseJson: Koa.Middleware = async (ctx, next) => {
  refuseContentCoding(ctx);
  if (ctx.request.length && !ctx.is('application/json'))
    throw new HttpError(415, 'unsupported_media_type', 'expected application/json');
  await jsonParser(ctx, next);
};

/** The parsed form (after parseForm). */
export const formBody = (ctx: Koa.Context): Record<string, string> =>
  (ctx.request.body ?? {}) as Record<string, string>;
