// Assertions shared by several test files.
import * as assert from 'uvu/assert';

/** Awaits a promise that must reject with `type`; returns the error for further checks. */
export const rejects = async <E extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => E,
): Promise<E> => {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, type);
    return error as E;
  }
  throw new assert.Assertion({
    message: `expected ${type.name}`,
    generated: false,
    operator: 'rejects',
    expects: type.name,
    actual: 'resolved',
  });
};
