// Shared building blocks of every aggregate (Emmett's decider shape): decide(command, state) → events,
// evolve(state, event) → state. Pure: time and ids arrive inside commands.

export const assertNever = (value: never): never => {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
};

/**
 * A rule of the domain said no. `code` is stable snake_case (mapped to HTTP once, in http/errors.ts);
 * the message is safe to show to the caller.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/** A resource the request needs is exhausted for now (HTTP 503 with Retry-After); nothing was changed. */
export class TemporarilyUnavailableError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'TemporarilyUnavailableError';
  }
}

export type DomainEvent = { readonly type: string; readonly data: unknown };

export type Decider<Command, Event extends DomainEvent, State> = {
  readonly initialState: () => State;
  readonly decide: (command: Command, state: State) => Event[];
  readonly evolve: (state: State, event: Event) => State;
  /** Validates an event read back from the log (zod), so a malformed stored event fails loudly. */
  readonly parse: (event: { type: string; data: unknown }) => Event;
  /**
   * For streams that grow with use. `types` are events that set the whole state whatever came before (a
   * snapshot, or an event that carries everything): a load reads the stream backwards to the newest one
   * and folds from there. `take` makes a snapshot event of a state (undefined: none worth writing); it
   * is written beside a command's events once `every` events followed the last one.
   */
  readonly snapshot?: {
    readonly types: readonly string[];
    readonly every: number;
    readonly take: (state: State) => Event | undefined;
  };
};

/** Who caused an event: goes into every event's metadata (the audit log shows it). */
export type Actor =
  | { readonly type: 'user'; readonly id: string; readonly email?: string }
  | { readonly type: 'client'; readonly id: string }
  | { readonly type: 'system'; readonly id: string };

export const SYSTEM: Actor = { type: 'system', id: 'server' };
/** The command line (`npx remotemcp …`). */
export const CLI: Actor = { type: 'system', id: 'cli' };
