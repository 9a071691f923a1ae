// The one way a command becomes events: load the stream, fold it, decide, append with the version we
// read (optimistic concurrency), retry from the top when another writer got there first.
import type { Actor, Decider, DomainEvent } from '../domain/shared.ts';
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
};

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
  context: CommandContext,
  attempts = 3,
): Promise<Handled<E, S>> => {
  for (let attempt = 1; ; attempt += 1) {
    const { state, version, sinceSnapshot } =
      context.newStream && attempt === 1
        ? { state: decider.initialState(), version: undefined, sinceSnapshot: 0 }
        : await loadAggregate(log, stream, decider);
    const resolved = typeof command === 'function' ? (command as (state: S) => C)(state) : command;
    const events = decider.decide(resolved, state);
    const next = events.reduce(decider.evolve, state);
    if (events.length === 0) return { events, state: next, appended: undefined };
    const metadata = { actor: context.actor, ...(context.requestId ? { requestId: context.requestId } : {}) };
    // The snapshot goes in the same append as the events it follows: it can never disagree with them.
    const snapshot =
      decider.snapshot && sinceSnapshot + events.length >= decider.snapshot.every
        ? decider.snapshot.take(next)
        : undefined;
    try {
      const appended = await log.append(
        stream,
        [...events, ...(snapshot ? [snapshot] : [])].map((event) => ({ type: event.type, data: event.data, metadata })),
        { expectedVersion: version ?? 'no_stream' },
      );
      return { events, state: next, appended };
    } catch (error) {
      if (error instanceof WrongExpectedVersionError && attempt < attempts) continue;
      throw error;
    }
  }
};
