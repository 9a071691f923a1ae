// Group commit for appends that expect a version: commands on streams that already exist (a code
// exchange, a refresh). As in eventstore/group-commit.ts, every append queued while a commit is in flight
// goes out in the next one, one EventLog.appendEach: under load the database sees one statement and one
// WAL flush for many token requests instead of one each. A lone append waits only for its own commit.
//
// Unlike the unversioned group commit, two appends to one stream are never merged: each carries the
// version its command read. A second append to a stream already in the batch waits for the next commit
// (it would fail against the first anyway, and is then decided again on the log by its caller).
// A stale expectation fails only its own caller, with WrongExpectedVersionError, as a lone append would;
// a commit that fails as a whole (a duplicate event id) is tried again append by append, so only the
// caller at fault sees the error.
import { randomUUID } from 'node:crypto';
import type { AppendResult, EventLog, ExpectedVersion, NewEvent } from './port.ts';

type Pending = {
  readonly stream: string;
  readonly events: readonly NewEvent[];
  readonly expectedVersion: ExpectedVersion;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
};

/** Upper bound of appends in one commit (a larger backlog goes out in several). */
const MAX_APPENDS = 500;

export class VersionedCommit {
  private queue: Pending[] = [];
  private running: Promise<void> | undefined;
  /** Commits made and appends they carried, for the benchmark and tests. */
  readonly stats = { commits: 0, appends: 0 };

  constructor(
    private readonly log: Pick<EventLog, 'append' | 'appendEach'>,
    private readonly maxAppends = MAX_APPENDS,
  ) {}

  /** Resolves once the events are in the log; rejects as EventLog.append would (a stale expectation included). */
  append(stream: string, events: readonly NewEvent[], expectedVersion: ExpectedVersion): Promise<AppendResult> {
    if (events.length === 0) return Promise.reject(new Error('append needs at least one event'));
    return new Promise((resolve, reject) => {
      // Ids fixed here, so an append tried again after an unclear failure cannot write an event twice.
      const withIds = events.map((event) => (event.id ? event : { ...event, id: randomUUID() }));
      this.queue.push({ stream, events: withIds, expectedVersion, resolve, reject });
      this.running ??= this.run();
    });
  }

  /** Resolves when everything appended before the call has been committed (or has failed). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private async run(): Promise<void> {
    // As the unversioned group commit: appends made in this turn of the event loop join the first commit.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      while (this.queue.length > 0) await this.commit(this.take());
    } finally {
      this.running = undefined;
    }
  }

  /** The oldest queued appends, one per stream, up to maxAppends; the rest keep their order. */
  private take(): Pending[] {
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    const streams = new Set<string>();
    for (const pending of this.queue) {
      if (batch.length < this.maxAppends && !streams.has(pending.stream)) {
        streams.add(pending.stream);
        batch.push(pending);
      } else rest.push(pending);
    }
    this.queue = rest;
    return batch;
  }

  private async commit(batch: Pending[]): Promise<void> {
    let results: (AppendResult | Error)[];
    try {
      results = await this.log.appendEach(
        batch.map(({ stream, events, expectedVersion }) => ({ stream, events, expectedVersion })),
      );
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      await Promise.all(
        batch.map((pending) =>
          this.log
            .append(pending.stream, pending.events, { expectedVersion: pending.expectedVersion })
            .then(pending.resolve, pending.reject),
        ),
      );
      return;
    }
    this.stats.commits += 1;
    this.stats.appends += batch.length;
    batch.forEach((pending, index) => {
      const result = results[index]!;
      if (result instanceof Error) pending.reject(result);
      else pending.resolve(result);
    });
  }
}
