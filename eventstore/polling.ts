// Catch-up-then-live subscriptions for adapters that only offer readAll (PostgreSQL, memory).
// One tail per log and process reads the newest events once for every live subscription (each
// projection, the MCP session feed): after a wake-up (an append here, or a NOTIFY) it reads what is new
// and keeps the most recent events in memory; a subscription that is caught up takes its batches from
// there, and one that is behind reads the log itself until it reaches the tail's window.
import {
  START,
  comparePositions,
  type GlobalPosition,
  type RecordedEvent,
  type SubscribeOptions,
  type Subscription,
} from './port.ts';

export class Waker {
  private waiters = new Set<() => void>();
  /** Counts wake-ups, so a reader can tell whether one came while it was busy. */
  generation = 0;
  wake(): void {
    this.generation += 1;
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const resolve of waiters) resolve();
  }
  /** Waits for the next wake-up (or `ms`); returns at once if one came after `since` (a generation). */
  wait(ms: number, since = this.generation): Promise<void> {
    if (this.generation !== since) return Promise.resolve();
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
  headPosition(): Promise<GlobalPosition | undefined>;
};

const TAIL_PAGE = 1_000;
/** Events the tail keeps (a subscription further behind reads the log). */
const TAIL_CAPACITY = 5_000;
/** After a wake-up that found nothing (the event may be behind a concurrent transaction): retries 10 ms apart. */
const EAGER_RETRIES = 5;
const RETRY_AFTER_ERROR_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class PollingSubscriptions {
  /** The tail's window: every event after `start` up to its newest, in order. */
  private window: RecordedEvent[] = [];
  private start: GlobalPosition | undefined;
  /** Woken when the window grows. */
  private readonly grown = new Waker();
  private live = 0;
  private running: Promise<void> | undefined;

  constructor(
    private readonly source: PollingSource,
    /** Woken by the adapter on appends and notifications. */
    private readonly waker: Waker,
    private readonly pollMs: number,
  ) {}

  subscribe(options: SubscribeOptions): Subscription {
    let closed = false;
    let released = false;
    let after = options.after;
    const batchSize = options.batchSize ?? 500;
    this.live += 1;
    this.running ??= this.follow();
    const loop = async () => {
      while (!closed) {
        const seen = this.grown.generation;
        const events =
          this.fromWindow(after, batchSize) ??
          (await this.source.readAll(after ? { after, maxCount: batchSize } : { maxCount: batchSize }));
        if (closed) return;
        if (events.length > 0) {
          await options.onEvents(events);
          after = events[events.length - 1]!.position;
          continue;
        }
        await this.grown.wait(this.pollMs, seen);
      }
    };
    const running = loop().catch((error: unknown) => {
      closed = true;
      if (options.onError) options.onError(error);
    });
    return {
      close: async () => {
        if (!closed) {
          closed = true;
          this.grown.wake();
        }
        await running;
        // Counted once, however many times it is closed: a second count would let the tail stop while
        // other subscriptions still wait on it.
        if (released) return;
        released = true;
        this.live -= 1;
        if (this.live === 0) {
          this.waker.wake();
          await this.running;
        }
      },
    };
  }

  /** The events after `after` from the window; undefined when `after` is older than the window. */
  private fromWindow(after: GlobalPosition | undefined, maxCount: number): RecordedEvent[] | undefined {
    if (!this.start || comparePositions(after ?? START, this.start) < 0) return undefined;
    // Binary search for the first event after `after`.
    let low = 0;
    let high = this.window.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (comparePositions(this.window[middle]!.position, after ?? START) <= 0) low = middle + 1;
      else high = middle;
    }
    return this.window.slice(low, low + maxCount);
  }

  /** The tail: runs while any subscription is open. */
  private async follow(): Promise<void> {
    let eagerRetries = 0;
    try {
      while (this.live > 0) {
        try {
          if (!this.start) this.start = (await this.source.headPosition()) ?? START;
          const newest = this.window[this.window.length - 1]?.position ?? this.start;
          const seen = this.waker.generation;
          const events = await this.source.readAll({ after: newest, maxCount: TAIL_PAGE });
          if (events.length > 0) {
            this.window.push(...events);
            if (this.window.length > TAIL_CAPACITY)
              this.start = this.window.splice(0, this.window.length - TAIL_CAPACITY).at(-1)!.position;
            this.grown.wake();
            eagerRetries = 0;
            if (events.length >= TAIL_PAGE) continue;
            await this.waker.wait(this.pollMs, seen);
          } else if (eagerRetries > 0) {
            eagerRetries -= 1;
            await sleep(10);
            continue;
          } else {
            await this.waker.wait(this.pollMs, seen);
          }
          // Woken (not timed out): what woke us may still be hidden behind a concurrent transaction.
          if (this.waker.generation !== seen) eagerRetries = EAGER_RETRIES;
        } catch {
          // Subscriptions keep what they have and wait; the tail tries again. (A lost database shows
          // in /readyz and in the projections' own queries.)
          await sleep(RETRY_AFTER_ERROR_MS);
        }
      }
    } finally {
      this.running = undefined;
      // A subscription opened while the last one was closing needs the tail.
      if (this.live > 0) this.running = this.follow();
    }
  }
}
