// Body parsing at the edge: small limits, only the types an endpoint expects.
import { bodyParser } from '@koa/bodyparser';
import type Koa from 'koa';
import { Readable } from 'node:stream';
import { findUnstorable } from '../eventstore/storable.ts';
import { HttpError } from './errors.ts';

const formParser = bodyParser({ enableTypes: ['form'], formLimit: '64kb', encoding: 'utf-8' });
/** formLimit in bytes ('64kb' to the parser's `bytes`). */
const FORM_LIMIT = 64 * 1024;
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

const FORM_TYPE = 'application/x-www-form-urlencoded';
/** Content-Type values sent for forms (any other, parameters included, goes through the general parser). */
const FORM_TYPES = new Set([FORM_TYPE, `${FORM_TYPE}; charset=utf-8`, `${FORM_TYPE};charset=utf-8`]);

/**
 * The request a client library sends (a POST of a form of known length, no options on its type, nothing
 * special about the connection): its body is read here. Anything else goes through the general parser.
 */
const plainFormPost = (ctx: Koa.Context): number | undefined => {
  const headers = ctx.req.headers;
  if (ctx.method !== 'POST' || ctx.request.body !== undefined || ctx.req.closed) return undefined;
  const type = headers['content-type'];
  if (type !== FORM_TYPE && (type === undefined || !FORM_TYPES.has(type.toLowerCase()))) return undefined;
  if (headers['content-encoding'] !== undefined || headers['transfer-encoding'] !== undefined) return undefined;
  const length = Number(headers['content-length']);
  return Number.isSafeInteger(length) && length >= 0 && length <= FORM_LIMIT ? length : undefined;
};

/** The body's bytes; a request aborted meanwhile fails as the general parser's reading does (400). */
const readBody = (req: Koa.Context['req'], length: number): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (error?: Error) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('aborted', onAborted);
      req.off('error', finish);
      if (error) reject(error);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      chunks.push(chunk);
    };
    const onEnd = () =>
      finish(
        received === length
          ? undefined
          : Object.assign(new Error('request size did not match content length'), { status: 400 }),
      );
    const onAborted = () => finish(Object.assign(new Error('request aborted'), { status: 400 }));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('aborted', onAborted);
    req.on('error', finish);
  });

/** A key qs takes as it is: no brackets or dots (qs nests on those), nothing of Object.prototype (qs drops those). */
const PLAIN_KEY = /^[\w-]+$/;
/** Text qs would read differently from plain pairs: brackets, spelled out or percent-encoded. */
const NESTING = /[[\]]|%5[bd]/i;

/** As qs decodes a key or value: `+` is a space, then percent-decoding, the text as it was where that fails. */
const decodePart = (text: string): string => {
  const spaced = text.includes('+') ? text.replace(/\+/g, ' ') : text;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
};

/**
 * The form as qs (through @koa/bodyparser, with allowDots) parses it, when it is plain `key=value` pairs
 * with distinct word keys; undefined for anything else (nesting, repeated or empty keys, many pairs).
 */
const plainPairs = (text: string): Record<string, string> | undefined => {
  const fields: Record<string, string> = {};
  if (text === '') return fields;
  if (NESTING.test(text)) return undefined;
  const parts = text.split('&');
  if (parts.length > 100) return undefined;
  for (const part of parts) {
    const equals = part.indexOf('=');
    const key = decodePart(equals < 0 ? part : part.slice(0, equals));
    if (!PLAIN_KEY.test(key) || key in fields || key in Object.prototype) return undefined;
    fields[key] = equals < 0 ? '' : decodePart(part.slice(equals + 1));
  }
  return fields;
};

/** The general parser (@koa/bodyparser) on bytes already read, as if they came from the request. */
const parseRead = async (ctx: Koa.Context, bytes: Buffer): Promise<void> => {
  const replay = Object.assign(Readable.from([bytes]), { headers: ctx.req.headers });
  const view = { method: ctx.method, req: replay, request: ctx.request } as unknown as Koa.Context;
  await formParser(view, async () => undefined);
};

/** application/x-www-form-urlencoded → ctx.request.body (strings only; repeated fields keep the first). */
export const parseForm: Koa.Middleware = async (ctx, next) => {
  refuseContentCoding(ctx);
  if (
    ctx.method !== 'GET' &&
    ctx.method !== 'HEAD' &&
    ctx.request.length &&
    // (The exact type needs no parse to be recognised.)
    ctx.req.headers['content-type'] !== FORM_TYPE &&
    !ctx.is(FORM_TYPE)
  ) {
    throw new HttpError(415, 'unsupported_media_type', 'expected application/x-www-form-urlencoded');
  }
  // A client's token request is a few plain pairs: read and split here, it costs a fraction of the
  // general parser's way (type checks, option objects, qs's nesting rules), with the same result; a
  // body it does not recognise is handed to that parser.
  const length = plainFormPost(ctx);
  if (length !== undefined) {
    const bytes = await readBody(ctx.req, length);
    let text = bytes.toString('utf8');
    // As the parser's decoder (iconv-lite) reads UTF-8: a byte order mark is not part of the text.
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const fields = plainPairs(text);
    if (fields) {
      ctx.request.body = fields;
      (ctx.request as { rawBody?: string }).rawBody = text;
    } else await parseRead(ctx, bytes);
  } else await formParser(ctx, async () => undefined);
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
