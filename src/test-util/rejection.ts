/** For tests: the ServingError `promise` rejects with; fails the test when it resolves or rejects with anything else. */
import { expect } from 'vitest';
import { ServingError } from '../core/serving-error.js';

export function rejectionOf(promise: Promise<unknown>): Promise<ServingError> {
  return promise.then(
    () => {
      throw new Error('the request succeeded');
    },
    (error: unknown) => {
      expect(error).toBeInstanceOf(ServingError);
      return error as ServingError;
    },
  );
}
