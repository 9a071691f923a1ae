// An AbortSignal for the life of one HTTP request: aborted when the client goes away before the answer
// is sent, so work done on its behalf (an outbound fetch) can stop instead of outliving it.
import type Koa from 'koa';

export const requestSignal = (ctx: Koa.Context): AbortSignal => {
  const existing = ctx.state.abortSignal;
  if (existing) return existing;
  const controller = new AbortController();
  // The response's 'close' fires once the answer is sent or the connection is gone; only the latter aborts.
  const onClose = () => {
    if (!ctx.res.writableFinished) controller.abort(new Error('the client closed the connection'));
  };
  if (ctx.res.closed || ctx.req.destroyed) onClose();
  else ctx.res.once('close', onClose);
  ctx.state.abortSignal = controller.signal;
  return controller.signal;
};
