// The one way a command becomes events: load the stream, fold it, decide, append with the version we
// read (optimistic concurrency), retry from the top when another writer got there first.
import type { Actor, Decider, DomainEvent } from '../domain/shared.ts';
import type { GroupCommit } from '../eventstore/group-commit.ts';
import type { VersionedCommit } from '../eventstore/versioned-commit.ts';
import { WrongExpectedVersionError, type AppendResult, type EventLog, type RecordedEvent } from '../eventstore/port.ts';

export type CommandContext = {
  readonly actor: Actor;
  readonly requestId?: string;
  /**
   * The stream's id was made for this command (a random UUID): there is nothing to read, so the command is
   * decided on the initial state without a round trip. The append still expects no stream, and a conflict
   * reads the stream as usual.
   */
  readonly newStream?: boolean;
  /**
   * With newStream: the first append shares a commit with other callers' (eventstore/group-commit.ts),
   * one commit for many concurrent commands. A group commit appends without a version expectation; a
   * stream whose id was made for this command (a random UUID) has no other writer, so none is lost.
   */
  readonly groupCommit?: Pick<GroupCommit, 'append'>;
  /**
   * The append, with its expected version, shares a commit with other callers' commands on other
   * streams (eventstore/versioned-commit.ts): one statement for many concurrent token requests. A stale
   * version fails as a lone append would, and the command is decided again.
   */
  readonly versionedCommit?: Pick<VersionedCommit, 'append'>;
};

/**
 * The state each stream had after this instance's last command on it, with its version, so the next
 * command on it can skip the read. Safe because a cached state is only ever acted on through an append
 * that expects its version: if anyone (another instance, the CLI) wrote to the stream since, the append
 * fails and the command is decided again on what the log holds. A decision that refuses or does nothing
 * on a cached state is not trusted either: it is made again on a fresh read, so a cached state can make
 * a command cheaper but never change its outcome.
 */
export class StateCache<S> {
  private readonly entries = new Map<string, Loaded<S> & { readonly version: bigint }>();

  constructor(private readonly max = 10_000) {}

  get(stream: string): (Loaded<S> & { readonly version: bigint }) | undefined {
    return this.entries.get(stream);
  }

  set(stream: string, loaded: Loaded<S> & { readonly version: bigint }): void {
    // Re-inserted, so the oldest entry is the least recently written one (Map keeps insertion order).
    this.entries.delete(stream);
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(stream, loaded);
  }

  delete(stream: string): void {
    this.entries.delete(stream);
  }
}

export type Handled<Event, State> = {
  readonly events: Event[];
  readonly state: State;
  /** Undefined when the command decided nothing (idempotent no-op). */
  readonly appended: AppendResult | undefined;
};

export type Loaded<S> = {
  readonly state: S;
  readonly version: bigint | undefined;
  /** Events folded after the newest snapshot (all of them for a decider without snapshots). */
  readonly sinceSnapshot: number;
};

const PAGE = 1_000;

export const loadAggregate = async <C, E extends DomainEvent, S>(
  log: EventLog,
  stream: string,
  decider: Decider<C, E, S>,
): Promise<Loaded<S>> => {
  if (decider.snapshot) return loadFromSnapshot(log, stream, decider, decider.snapshot.types);
  let state = decider.initialState();
  let version: bigint | undefined;
  let from = 0n;
  let folded = 0;
  // Page through long streams instead of loading them in one query.
  for (;;) {
    const page = await log.readStream(stream, { fromRevision: from, maxCount: PAGE });
    for (const recorded of page) {
      state = decider.evolve(state, decider.parse(recorded));
      version = recorded.revision;
    }
    folded += page.length;
    if (page.length < PAGE) break;
    from = page[page.length - 1]!.revision + 1n;
  }
  return { state, version, sinceSnapshot: folded };
};

/**
 * Reads backwards from the end to the newest snapshot event (or the start of a stream written before
 * snapshots), then folds forward from it: the work is bounded by the snapshot interval, not the stream.
 */
const loadFromSnapshot = async <C, E extends DomainEvent, S>(
  log: EventLog,
  stream: string,
  decider: Decider<C, E, S>,
  snapshotTypes: readonly string[],
): Promise<Loaded<S>> => {
  const tail: RecordedEvent[] = [];
  // The first page is one snapshot interval (plus the events of the command that wrote it); a stream
  // written before snapshots is paged through in bigger steps, once.
  const every = decider.snapshot?.every ?? PAGE;
  let pageSize = Math.min(PAGE, Number.isFinite(every) ? every + 16 : 16);
  let from: bigint | undefined;
  let found = false;
  while (!found) {
    const page = await log.readStream(stream, {
      backwards: true,
      maxCount: pageSize,
      ...(from === undefined ? {} : { fromRevision: from }),
    });
    for (const recorded of page) {
      tail.push(recorded);
      if (snapshotTypes.includes(recorded.type)) {
        found = true;
        break;
      }
    }
    const last = page[page.length - 1];
    if (page.length < pageSize || !last || last.revision === 0n) break;
    from = last.revision - 1n;
    pageSize = Math.min(PAGE, pageSize * 4);
  }
  let state = decider.initialState();
  for (let index = tail.length - 1; index >= 0; index -= 1) state = decider.evolve(state, decider.parse(tail[index]!));
  return { state, version: tail[0]?.revision, sinceSnapshot: found ? tail.length - 1 : tail.length };
};

export const handleCommand = async <C, E extends DomainEvent, S>(
  log: EventLog,
  stream: string,
  decider: Decider<C, E, S>,
  command: C | ((state: S) => C),
  context: CommandContext & { readonly cache?: StateCache<S> },
  attempts = 3,
): Promise<Handled<E, S>> => {
  const cache = context.cache;
  let cached = cache?.get(stream);
  for (let attempt = 1; ; attempt += 1) {
    const loaded: Loaded<S> =
      cached ??
      (context.newStream && attempt === 1
        ? { state: decider.initialState(), version: undefined, sinceSnapshot: 0 }
        : await loadAggregate(log, stream, decider));
    const { state, version, sinceSnapshot } = loaded;
    let events: E[];
    try {
      const resolved = typeof command === 'function' ? (command as (state: S) => C)(state) : command;
      events = decider.decide(resolved, state);
    } catch (error) {
      if (!cached) throw error;
      events = [];
    }
    if (cached && events.length === 0) {
      // A refusal or a no-op decided on a cached state may come from a state the log has moved past: the
      // log decides (this does not count as an attempt).
      cache!.delete(stream);
      cached = undefined;
      attempt -= 1;
      continue;
    }
    const next = events.reduce(decider.evolve, state);
    if (events.length === 0) return { events, state: next, appended: undefined };
    const metadata = { actor: context.actor, ...(context.requestId ? { requestId: context.requestId } : {}) };
    // The snapshot goes in the same append as the events it follows: it can never disagree with them.
    const snapshot =
      decider.snapshot && sinceSnapshot + events.length >= decider.snapshot.every
        ? decider.snapshot.take(next)
        : undefined;
    try {
      const toAppend = [...events, ...(snapshot ? [snapshot] : [])].map((event) => ({
        type: event.type,
        data: event.data,
        metadata,
      }));
      const appended =
        context.newStream && context.groupCommit && attempt === 1 && !cached
          ? await context.groupCommit.append(stream, toAppend)
          : context.versionedCommit
            ? await context.versionedCommit.append(stream, toAppend, version ?? 'no_stream')
            : await log.append(stream, toAppend, { expectedVersion: version ?? 'no_stream' });
      cache?.set(stream, {
        state: next,
        version: appended.nextExpectedVersion,
        sinceSnapshot: snapshot ? 0 : sinceSnapshot + events.length,
      });
      return { events, state: next, appended };
    } catch (error) {
      cache?.delete(stream);
      if (error instanceof WrongExpectedVersionError && (cached || attempt < attempts)) {
        // A conflict on a cached state is not an attempt either: the state was only out of date.
        if (cached) attempt -= 1;
        cached = undefined;
        continue;
      }
      throw error;
    }
  }
};
