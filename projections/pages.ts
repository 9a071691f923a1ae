// The log's pages for several consumers that apply them at their own pace (a rebuild's projections, each
// on its own connection): each page is read once, the next one is read while it is applied, and no
// consumer starts a page more than `ahead` pages past the slowest, so memory holds a few pages at most.
// Waiting for the slowest projection at every page left node and the other connections idle meanwhile.
import type { GlobalPosition, RecordedEvent } from '../eventstore/port.ts';

export class SharedPages {
  private readonly pages = new Map<number, Promise<RecordedEvent[]>>();
  /** Per page: how many consumers are done with it. */
  private readonly finished = new Map<number, number>();
  /** Every page below it is done by every consumer. */
  private floor = 0;
  private waiters: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly read: (after: GlobalPosition | undefined) => Promise<RecordedEvent[]>,
    private readonly pageSize: number,
    private readonly consumers: number,
    private readonly ahead = 2,
  ) {}

  /** Page `index` from the start (empty past the end of the log, or once stopped). */
  async page(index: number): Promise<readonly RecordedEvent[]> {
    while (!this.stopped && index - this.floor > this.ahead) await new Promise<void>((wake) => this.waiters.push(wake));
    if (this.stopped) return [];
    const page = await this.fetch(index);
    // Read the next page while this one is applied: a rebuild costs max(read, apply), not the sum.
    if (page.length === this.pageSize) this.fetch(index + 1).catch(() => undefined);
    return page;
  }

  /** One consumer is done with page `index`: once all are, it is let go. */
  done(index: number): void {
    const count = (this.finished.get(index) ?? 0) + 1;
    this.finished.set(index, count);
    if (count < this.consumers) return;
    while (this.finished.get(this.floor) === this.consumers) {
      this.finished.delete(this.floor);
      this.pages.delete(this.floor);
      this.floor += 1;
    }
    this.wake();
  }

  /** A consumer failed: the others get empty pages (the caller must not take that for the end of the log). */
  stop(): void {
    this.stopped = true;
    this.wake();
  }

  private wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private fetch(index: number): Promise<RecordedEvent[]> {
    let page = this.pages.get(index);
    if (!page) {
      const before = index === 0 ? undefined : this.pages.get(index - 1);
      if (index > 0 && !before) throw new Error(`page ${index} asked for before page ${index - 1}`);
      page = before
        ? before.then((events) => (events.length < this.pageSize ? [] : this.read(events[events.length - 1]!.position)))
        : this.read(undefined);
      this.pages.set(index, page);
    }
    return page;
  }
}
