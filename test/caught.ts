import type { FactumError } from '../src/core/errors.js';

/** The error a call fails with; fails the test when the call succeeds. */
export async function caught(promise: Promise<unknown>): Promise<FactumError> {
  try {
    await promise;
  } catch (error) {
    return error as FactumError;
  }
  throw new Error('expected the call to fail');
}
