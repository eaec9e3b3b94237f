/**
 * Reads a caller's predict request once, field by field, before anything is sent: a getter that
 * throws, a non-object, a BigInt version, a `signal` that is not an AbortSignal, a bad
 * `timeoutMs` — each is INVALID_ARGUMENT naming the field, never a TypeError. The inputs'
 * contents are checked by the runner against the version's signature.
 */
import { describeValue } from '../core/describe-value.js';
import { RequestDeadline } from '../core/request-deadline.js';
import { ServingError } from '../core/serving-error.js';
import { validateSelector } from '../core/version-selector.js';
import { transferablesOf } from '../loaders/tensor-types.js';
import type { TensorData } from '../protocol.js';
import type { CheckedPredict } from './data-plane.js';

export function checkPredictRequest(request: unknown): CheckedPredict {
  const selector = validateSelector(request);
  const { model } = selector;
  const unreadable = (error: unknown) =>
    new ServingError('INVALID_ARGUMENT', `model "${model}": the request could not be read: ${(error as Error)?.message ?? String(error)}`, { model });
  let inputs: unknown, outputs: unknown, signal: unknown, timeoutMs: unknown, transferInputs: unknown;
  try {
    ({ inputs, outputs, signal, timeoutMs, transferInputs } = request as Record<string, unknown>);
  } catch (error) {
    throw unreadable(error);
  }
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
    throw new ServingError('INVALID_ARGUMENT', `model "${model}": inputs must be an object mapping input names to { type, data, dims } tensors, got ${describeValue(inputs)}`, { model });
  }
  if (outputs !== undefined && !Array.isArray(outputs)) {
    throw new ServingError('INVALID_ARGUMENT', `model "${model}": outputs must be an array of output names, got ${describeValue(outputs)}`, { model });
  }
  const deadline = new RequestDeadline(model, timeoutMs, signal);
  let transfer: Transferable[] = [];
  if (transferInputs !== false) {
    try {
      transfer = transferablesOf(Object.values(inputs as Record<string, TensorData>));
    } catch (error) {
      deadline.clear();
      throw unreadable(error);
    }
  }
  return { ...selector, inputs, ...(outputs !== undefined ? { outputs } : {}), transfer, deadline };
}
