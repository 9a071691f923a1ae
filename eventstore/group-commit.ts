// Group commit: appends from many callers (the messages of every MCP session on this instance, the
// audit event of every tool call) share one EventLog.appendMany per round trip. While a commit is in
// flight, new appends queue; when it returns, everything queued goes out in the next one. A lone append
// waits for nothing but its own commit; under load one commit carries many callers' events, so the
// database sees a few statements per millisecond instead of one per message.
// Only for appends without a version expectation (each stream's events keep their order; see port.ts).
//
// One caller's bad payload must not fail the others: a commit that fails is tried again stream by stream
// (only then: the happy path stays one round trip), so only the streams at fault fail their callers.
import { randomUUID } from 'node:crypto';
import { UnstorableEventError, type AppendResult, type EventLog, type NewEvent } from './port.ts';

type Waiter = {
  /** How many of the stream's queued events are this caller's or came before them. */
  readonly end: number;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
};

type Queued = { readonly events: NewEvent[]; readonly waiters: Waiter[] };
type Batch = [string, Queued][];

/** Upper bound of events in one commit (a larger backlog goes out in several). */
const MAX_EVENTS = 2_000;

export class GroupCommit {
  private queue = new Map<string, Queued>();
  private running: Promise<void> | undefined;
  /** Commits made and events written, for the benchmark and tests. */
  readonly stats = { commits: 0, events: 0 };
  /**
   * Streams whose events no subscriber on this instance needs at once (see AppendManyOptions.quiet): a
   * commit of only such streams does not wake this instance's tail. Set by the MCP layer for message
   * streams nobody here follows; unset, every commit wakes it.
   */
  quiet: ((stream: string) => boolean) | undefined;

  constructor(
    private readonly log: Pick<EventLog, 'appendMany'>,
    private readonly maxEvents = MAX_EVENTS,
  ) {}

  /** Resolves once the events are in the log (with the stream's revision of the last of them). */
  append(stream: string, events: readonly NewEvent[]): Promise<AppendResult> {
    if (events.length === 0) return Promise.reject(new Error('append needs at least one event'));
    return new Promise((resolve, reject) => {
      let queued = this.queue.get(stream);
      if (!queued) this.queue.set(stream, (queued = { events: [], waiters: [] }));
      // Ids fixed here, so a commit tried again after an unclear failure cannot write an event twice.
      for (const event of events) queued.events.push(event.id ? event : { ...event, id: randomUUID() });
      queued.waiters.push({ end: queued.events.length, resolve, reject });
      this.running ??= this.run();
    });
  }

  /** Resolves when everything appended before the call has been committed (or has failed). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private async run(): Promise<void> {
    // The first commit starts once the event loop has run this turn's callbacks (setImmediate: after
    // the I/O callbacks of the turn): appends made meanwhile join it. So a fast tool call's priming
    // event and its response, made in one turn, share one commit instead of the response waiting for
    // the priming event's.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      while (this.queue.size > 0) await this.commit(this.take());
    } finally {
      this.running = undefined;
    }
  }

  /**
   * One appendMany for the batch. When it fails, a batch of several streams is split: the streams an
   * UnstorableEventError names fail at once and the rest go out together again; any other failure (a
   * constraint, a statement the database refuses) sends each stream alone. Either way only the callers
   * whose own stream fails see an error.
   */
  private async commit(batch: Batch): Promise<void> {
    let results: AppendResult[];
    try {
      const quiet = this.quiet;
      // Set as a member, not in an object literal: under tsx a named closure costs an Object.defineProperty.
      const options: { quiet?: () => boolean } = {};
      if (quiet) options.quiet = () => batch.every(([stream]) => quiet(stream));
      results = await this.log.appendMany(
        batch.map(([stream, queued]) => ({ stream, events: queued.events })),
        options,
      );
    } catch (error) {
      if (batch.length === 1) {
        for (const waiter of batch[0]![1].waiters) waiter.reject(error);
        return;
      }
      const named = error instanceof UnstorableEventError ? new Set(error.streams) : undefined;
      const faulty = named ? batch.filter(([stream]) => named.has(stream)) : [];
      if (faulty.length > 0) {
        for (const [, queued] of faulty) for (const waiter of queued.waiters) waiter.reject(error);
        const rest = batch.filter(([stream]) => !named!.has(stream));
        if (rest.length > 0) await this.commit(rest);
        return;
      }
      await Promise.all(batch.map((entry) => this.commit([entry])));
      return;
    }
    this.stats.commits += 1;
    batch.forEach(([, queued], index) => {
      const { nextExpectedVersion, position } = results[index]!;
      const before = nextExpectedVersion - BigInt(queued.events.length);
      this.stats.events += queued.events.length;
      for (const waiter of queued.waiters)
        waiter.resolve({ nextExpectedVersion: before + BigInt(waiter.end), position });
    });
  }

  /** The oldest queued streams, whole, up to maxEvents (at least one stream). */
  private take(): Batch {
    const batch: Batch = [];
    let events = 0;
    for (const entry of this.queue) {
      if (batch.length > 0 && events + entry[1].events.length > this.maxEvents) break;
      batch.push(entry);
      events += entry[1].events.length;
    }
    for (const [stream] of batch) this.queue.delete(stream);
    return batch;
  }
}
