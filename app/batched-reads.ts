// Reads by key that are asked while one is in flight go out together in the next one: one query for
// many concurrent token requests instead of one each (the read-side twin of eventstore/group-commit.ts).
// Unlike sharing a read already in flight, every caller's read starts after it asked, so it sees every
// change committed before that: batching makes a lookup cheaper but never older.
type Waiter<V> = { resolve(value: V | undefined): void; reject(error: unknown): void };

/** Upper bound of keys in one read (a larger backlog goes out in several). */
const MAX_KEYS = 500;

export class BatchedReads<V> {
  private queue = new Map<string, Waiter<V>[]>();
  private running = false;
  /** Reads made and keys they carried, for the benchmark and tests. */
  readonly stats = { reads: 0, keys: 0 };

  constructor(
    /** The values found for `keys` (a key not in the map has none). */
    private readonly readMany: (keys: string[]) => Promise<Map<string, V>>,
    private readonly maxKeys = MAX_KEYS,
  ) {}

  get(key: string): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = this.queue.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.queue.set(key, [{ resolve, reject }]);
      if (!this.running) {
        this.running = true;
        void this.run();
      }
    });
  }

  private async run(): Promise<void> {
    // Keys asked in this turn of the event loop join the first read.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      while (this.queue.size > 0) {
        const batch = [...this.queue].slice(0, this.maxKeys);
        for (const [key] of batch) this.queue.delete(key);
        this.stats.reads += 1;
        this.stats.keys += batch.length;
        try {
          const found = await this.readMany(batch.map(([key]) => key));
          for (const [key, waiters] of batch) for (const waiter of waiters) waiter.resolve(found.get(key));
        } catch (error) {
          for (const [, waiters] of batch) for (const waiter of waiters) waiter.reject(error);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
