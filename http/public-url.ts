// Which base URL this request is answered as (app/public-url.ts): set once per request, read by every
// place that writes an absolute URL (metadata, issuer, links) or compares origins (CSRF, CORS).
import type Koa from 'koa';
import type { Config } from '../app/config.ts';
import { publicUrlForHost, wrongHostMessage } from '../app/public-url.ts';
import { HttpError } from './errors.ts';

/** Answers kept per middleware (at most this many Host and port pairs; a stranger's names cannot grow it). */
const REMEMBERED_HOSTS = 256;

/** Probes answer under any Host: load balancers and Prometheus reach instances by their own address. */
const ANY_HOST = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Sets the request's public URL, or refuses the request (403 `forbidden_host`, naming where the server
 * is meant to be opened) when its Host is not one this server answers as. With PUBLIC_URL unset this is
 * also the DNS rebinding guard (MCP 2025-11-25 basic/transports §Security Warning): a hostile page that
 * reaches us under its own name is refused before any work.
 */
export const resolvePublicUrl = (config: Config): Koa.Middleware => {
  // The answer depends on the Host and the local port alone, and working it out parses two URLs: the
  // few names a server is reached by are answered from memory.
  const answers = new Map<string, string | undefined>();
  const answerFor = (host: string, localPort: number | undefined): string | undefined => {
    const key = `${localPort} ${host}`;
    const known = answers.get(key);
    if (known !== undefined || answers.has(key)) return known;
    const answer = publicUrlForHost(config, host, localPort);
    if (host.length <= 255) {
      if (answers.size >= REMEMBERED_HOSTS) answers.clear();
      answers.set(key, answer);
    }
    return answer;
  };
  return async (ctx, next) => {
    const localPort = ctx.req.socket.localPort;
    const publicUrl = answerFor(ctx.get('host'), localPort);
    if (publicUrl === undefined) {
      if (ANY_HOST.has(ctx.path)) return next();
      throw new HttpError(403, 'forbidden_host', wrongHostMessage(config, localPort));
    }
    ctx.state.publicUrl = publicUrl;
    await next();
  };
};

/** The base URL (no trailing slash) of this request: PUBLIC_URL, or the loopback origin it came in on. */
export const publicUrlOf = (ctx: Koa.Context): string => {
  const publicUrl = ctx.state.publicUrl;
  if (publicUrl === undefined) throw new Error('resolvePublicUrl did not run for this request');
  return publicUrl;
};
