// The one way a command becomes events: load the stream, fold it, decide, append with the version we
// read (optimistic concurrency), retry from the top when another writer got there first.
import type { Actor, Decider, DomainEvent } from '../domain/shared.ts';
import { WrongExpectedVersionError, type AppendResult, type EventLog } from '../eventstore/port.ts';

export type CommandContext = { readonly actor: Actor; readonly requestId?: string };

export type Handled<Event, State> = {
  readonly events: Event[];
  readonly state: State;
  /** Undefined when the command decided nothing (idempotent no-op). */
  readonly appended: AppendResult | undefined;
};

export const loadAggregate = async <C, E extends DomainEvent, S>(
  log: EventLog,
  stream: string,
  decider: Decider<C, E, S>,
): Promise<{ state: S; version: bigint | undefined }> => {
  let state = decider.initialState();
  let version: bigint | undefined;
  let from = 0n;
  // Page through long streams instead of loading them in one query.
  for (;;) {
    const page = await log.readStream(stream, { fromRevision: from, maxCount: 1_000 });
    for (const recorded of page) {
      state = decider.evolve(state, decider.parse(recorded));
      version = recorded.revision;
    }
    if (page.length < 1_000) break;
    from = page[page.length - 1]!.revision + 1n;
  }
  return { state, version };
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
    const { state, version } = await loadAggregate(log, stream, decider);
    const resolved = typeof command === 'function' ? (command as (state: S) => C)(state) : command;
    const events = decider.decide(resolved, state);
    const next = events.reduce(decider.evolve, state);
    if (events.length === 0) return { events, state: next, appended: undefined };
    const metadata = { actor: context.actor, ...(context.requestId ? { requestId: context.requestId } : {}) };
    try {
      const appended = await log.append(
        stream,
        events.map((event) => ({ type: event.type, data: event.data, metadata })),
        { expectedVersion: version ?? 'no_stream' },
      );
      return { events, state: next, appended };
    } catch (error) {
      if (error instanceof WrongExpectedVersionError && attempt < attempts) continue;
      throw error;
    }
  }
};
