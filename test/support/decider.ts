// given(events).when(command).then(events | error code): the shape of every decider test.
import * as assert from 'uvu/assert';
import { DomainError, type Decider, type DomainEvent } from '../../domain/shared.ts';

export const specFor =
  <C, E extends DomainEvent, S>(decider: Decider<C, E, S>) =>
  (given: E[]) => ({
    when: (command: C) => {
      const run = () => decider.decide(command, given.reduce(decider.evolve, decider.initialState()));
      return {
        then: (expected: E[]) => assert.equal(run(), expected),
        thenFails: (code: string) => {
          try {
            run();
          } catch (error) {
            assert.instance(error, DomainError);
            assert.is((error as DomainError).code, code);
            return;
          }
          assert.unreachable(`expected DomainError ${code}`);
        },
      };
    },
  });
