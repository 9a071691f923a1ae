// Request ids (X-Request-Id in and out) and one structured log line per request.
import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import type { Logger } from '../app/logger.ts';

const INCOMING_ID = /^[\w.-]{1,64}$/;

export const requestContext =
  (logger: Logger): Koa.Middleware =>
  async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = INCOMING_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    // Made on first use: a child logger serializes its bindings, and most requests only log the line below.
    let child: Logger | undefined;
    Object.defineProperty(ctx.state, 'log', {
      get: () => (child ??= logger.child({ requestId })),
      configurable: true,
      enumerable: true,
    });
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      // (Checked first: this line is built for every request, and a disabled level would discard it.)
      if (logger.isLevelEnabled('info')) {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        (child ?? logger).info(
          {
            ...(child ? {} : { requestId }),
            method: ctx.method,
            path: ctx.path,
            status: ctx.status,
            ms: Math.round(ms * 10) / 10,
          },
          'request',
        );
      }
    }
  };
