// The client's address and scheme behind reverse proxies (TRUSTED_PROXIES). Koa's own `proxy` switch
// believes X-Forwarded-* from anyone who connects; here they count only when the direct peer is a
// trusted proxy, so a forged X-Forwarded-For from the internet changes nothing (rate limits, audit).
import type Koa from 'koa';
import proxyaddr from 'proxy-addr';
import type { Config } from '../app/config.ts';

export const trustedProxies = (config: Config): Koa.Middleware => {
  if (config.trustedProxies.length === 0) return (_ctx, next) => next();
  const trust = proxyaddr.compile(config.trustedProxies);
  return async (ctx, next) => {
    const peer = ctx.req.socket.remoteAddress;
    if (peer && trust(peer, 0)) {
      // RFC 7239 §5.2 order: each proxy appends, so walk X-Forwarded-For from the right and stop at the
      // first address that is not a trusted proxy: that one is the client (proxy-addr does the walk).
      ctx.request.ip = proxyaddr(ctx.req, trust);
      const proto = ctx.get('x-forwarded-proto').split(',')[0]?.trim().toLowerCase();
      if (proto === 'https' || proto === 'http') Object.defineProperty(ctx.request, 'protocol', { value: proto });
    }
    await next();
  };
};
