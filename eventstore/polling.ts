// Catch-up-then-live subscriptions for adapters that only offer readAll: read batches until empty, then
// wait for a local wake-up (an append in this process, or a NOTIFY) or the poll interval.
import type { GlobalPosition, RecordedEvent, SubscribeOptions, Subscription } from './port.ts';

export class Waker {
  private waiters = new Set<() => void>();
  wake(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const resolve of waiters) resolve();
  }
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref?.();
      this.waiters.add(done);
    });
  }
}

export type PollingSource = {
  readAll(options: { after?: GlobalPosition; maxCount?: number }): Promise<RecordedEvent[]>;
};

export const pollingSubscription = (
  source: PollingSource,
  waker: Waker,
  options: SubscribeOptions,
  pollMs: number,
): Subscription => {
  let closed = false;
  let after = options.after;
  const batchSize = options.batchSize ?? 500;
  const loop = async () => {
    // After a wake-up, an event may still be hidden behind a concurrent transaction: retry briefly.
    let eagerRetries = 0;
    while (!closed) {
      const events = await source.readAll(after ? { after, maxCount: batchSize } : { maxCount: batchSize });
      if (closed) return;
      if (events.length > 0) {
        await options.onEvents(events);
        after = events[events.length - 1]!.position;
        eagerRetries = 0;
        continue;
      }
      if (eagerRetries > 0) {
        eagerRetries -= 1;
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      await waker.wait(pollMs);
      eagerRetries = 5;
    }
  };
  const running = loop().catch((error: unknown) => {
    closed = true;
    if (options.onError) options.onError(error);
  });
  return {
    async close() {
      closed = true;
      waker.wake();
      await running;
    },
  };
};
