// Operator actions that change no aggregate but must appear in the audit log (who rebuilt what, when).
// Stream per projection: `admin-projection-<name>`.
import { z } from 'zod';
import { assertNever, DomainError, type Decider } from '../shared.ts';

export const OperationEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('ProjectionRebuildRequested'),
    data: z.object({ projection: z.string(), at: z.string() }),
  }),
]);
export type OperationEvent = z.infer<typeof OperationEvent>;

export type OperationState = { readonly rebuilds: number };
export type OperationCommand = { type: 'RequestRebuild'; projection: string; known: readonly string[]; now: Date };

export const operationStream = (projection: string): string => `admin-projection-${projection}`;

export const operationDecider: Decider<OperationCommand, OperationEvent, OperationState> = {
  initialState: () => ({ rebuilds: 0 }),
  decide: (command) => {
    switch (command.type) {
      case 'RequestRebuild':
        if (!command.known.includes(command.projection))
          throw new DomainError('projection_not_found', `no projection named ${command.projection}`);
        return [
          {
            type: 'ProjectionRebuildRequested',
            data: { projection: command.projection, at: command.now.toISOString() },
          },
        ];
      default:
        return assertNever(command.type);
    }
  },
  evolve: (state, event) => {
    switch (event.type) {
      case 'ProjectionRebuildRequested':
        return { rebuilds: state.rebuilds + 1 };
      default:
        return assertNever(event.type);
    }
  },
  parse: (event) => OperationEvent.parse(event),
};
